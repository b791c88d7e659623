import type pg from 'pg';
import {
  type MatchingRequestInput,
  settleMatchingPendingRequests,
} from '../../db/queries/settlement/settleMatchingPendingRequests.ts';
import { inReadCommittedTransaction } from '../../db/readCommittedTransaction.ts';
import type { CommandResult } from './settlement.ts';
import type { ReservationRequestCommand, SettlementCommand } from './settlementCommand.ts';
import { requestDecisionSettlement } from './settlementEvents.ts';
import { defaultSettlementPolicy, type SettlementPolicy } from './settlementPolicy.ts';
import {
  assertDistinct,
  requestedBy,
  type SettlementClock,
  settleReservationBatch,
} from './settleReservationBatch.ts';

/**
 * Settles one batch: the common case first — pending requests that match their inbox rows, on
 * active vehicles — in one autocommit statement (`settleMatchingPendingRequests`), then whatever
 * it left (cancellations, replays, refusals, unknown vehicles) in one locked READ COMMITTED
 * transaction (`settleReservationBatch`). The two commit apart, which is safe: commands of a
 * batch never share a vehicle or a reservation, and a rerun after a failure finds the first
 * part's decisions and replays them. Returns one result per command, in order;
 * `onFastDecisions` hears how many requests the fast path decided.
 */
export async function settleCommandBatch(
  pool: pg.Pool,
  commands: readonly SettlementCommand[],
  clock: SettlementClock,
  options: { policy?: SettlementPolicy; onFastDecisions?: (count: number) => void } = {},
): Promise<CommandResult[]> {
  assertDistinct(commands);
  const policy = options.policy ?? defaultSettlementPolicy;
  const requests = commands.filter((c): c is ReservationRequestCommand => c.kind === 'request');
  const decidedAtMs = clock.nowMs();
  const decided =
    requests.length === 0
      ? []
      : await settleMatchingPendingRequests(
          pool,
          // A period that started longer ago than the grace is the locked path's to reject.
          { decidedAtMs, earliestStartMs: decidedAtMs - policy.startGraceMs },
          requests.map((command) => matchingRequestInput(command, clock.newEventId())),
        );
  if (decided.length > 0) options.onFastDecisions?.(decided.length);
  const settled = new Map(decided.map((record) => [record.reservationId, record]));
  const rest = commands.filter((c) => !(c.kind === 'request' && settled.has(c.reservationId)));
  const restResults =
    rest.length === 0
      ? []
      : await inReadCommittedTransaction(pool, (client) =>
          settleReservationBatch(client, rest, clock, policy),
        );
  const byCommand = new Map(rest.map((command, i) => [command, restResults[i]]));
  return commands.map((command): CommandResult => {
    const record = command.kind === 'request' ? settled.get(command.reservationId) : undefined;
    if (record) return { ok: true, settlement: requestDecisionSettlement(record, false) };
    return byCommand.get(command)!;
  });
}

/** What the fast path needs of a request command, and the id its decision event will carry. */
export function matchingRequestInput(
  command: ReservationRequestCommand,
  eventId: string,
): MatchingRequestInput {
  return {
    ...requestedBy(command),
    eventId,
    commandId: command.commandId,
    correlationId: command.correlationId,
    partition: command.position.partition,
    offset: command.position.offset,
  };
}
