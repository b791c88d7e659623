import { createHash } from 'node:crypto';
import {
  decideReservationRequests,
  type RequestDecisionInput,
} from '../../db/queries/settlement/decideReservationRequests.ts';
import { findCancellationDecisions } from '../../db/queries/settlement/findCancellationDecisions.ts';
import { insertMissingReservationRequests } from '../../db/queries/settlement/insertMissingReservationRequests.ts';
import { lockReservationRequests } from '../../db/queries/settlement/lockReservationRequests.ts';
import type { PreparedQueryable } from '../../db/queries/settlement/preparedQueryable.ts';
import {
  type CancellationDecisionInput,
  recordCancellationDecisions,
} from '../../db/queries/settlement/recordCancellationDecisions.ts';
import type { LockedReservationRequest } from '../../db/queries/settlement/settlementRecords.ts';
import { planCancellation } from './cancellationPlan.ts';
import { planRequest } from './requestPlan.ts';
import type { CommandResult } from './settlement.ts';
import type {
  CancellationCommand,
  ReservationRequestCommand,
  SettlementCommand,
} from './settlementCommand.ts';
import { SettlementInvariantError } from './settlementErrors.ts';
import { cancellationDecisionSettlement, requestDecisionSettlement } from './settlementEvents.ts';
import { defaultSettlementPolicy, type SettlementPolicy } from './settlementPolicy.ts';

/** Time and identity of new decisions (injected so tests and benchmarks can pin them). */
export interface SettlementClock {
  nowMs(): number;
  newEventId(): string;
}

/**
 * Settles a batch of commands inside the caller's READ COMMITTED transaction, in a fixed number
 * of statements whatever the batch size: lock the inbox rows (recording missing ones), decide
 * the cancellations, then book and decide the requests — the exclusion constraint deciding every
 * overlap. No two commands may name the same reservation or vehicle (the batcher guarantees it;
 * this refuses a batch that breaks it). Returns one result per command, in order; a command the
 * database can never accept gets its own error without failing the others.
 */
export async function settleReservationBatch(
  db: PreparedQueryable,
  commands: readonly SettlementCommand[],
  clock: SettlementClock,
  policy: SettlementPolicy = defaultSettlementPolicy,
): Promise<CommandResult[]> {
  assertDistinct(commands);
  const decidedAtMs = clock.nowMs();
  const results = new Map<SettlementCommand, CommandResult>();
  const requests = commands.filter((c): c is ReservationRequestCommand => c.kind === 'request');
  const cancellations = commands.filter((c): c is CancellationCommand => c.kind === 'cancellation');

  const locked = await lockAllRequests(db, commands, requests);
  await settleCancellations(db, cancellations, locked, decidedAtMs, clock, results);
  await settleRequests(
    db,
    requests,
    locked,
    { decidedAtMs, startGraceMs: policy.startGraceMs },
    clock,
    results,
  );

  return commands.map((command) => {
    const result = results.get(command);
    if (!result) throw new SettlementInvariantError(`command ${command.commandId} was left unsettled`);
    return result;
  });
}

/** Locks every named request; records (then holds) the requests no ingress recorded. */
async function lockAllRequests(
  db: PreparedQueryable,
  commands: readonly SettlementCommand[],
  requests: readonly ReservationRequestCommand[],
): Promise<Map<string, LockedReservationRequest>> {
  const locked = byId(
    await lockReservationRequests(
      db,
      commands.map((c) => c.reservationId),
    ),
  );
  const missing = requests.filter((r) => !locked.has(r.reservationId));
  if (missing.length === 0) return locked;
  for (const row of await insertMissingReservationRequests(db, missing.map(newRequestOf))) {
    locked.set(row.reservationId, row);
  }
  // Inserted meanwhile by another transaction (its INSERT won; ours waited and skipped): lock it now.
  const raced = missing.filter((r) => !locked.has(r.reservationId)).map((r) => r.reservationId);
  for (const row of await lockReservationRequests(db, raced)) locked.set(row.reservationId, row);
  return locked;
}

async function settleCancellations(
  db: PreparedQueryable,
  cancellations: readonly CancellationCommand[],
  locked: ReadonlyMap<string, LockedReservationRequest>,
  decidedAtMs: number,
  clock: SettlementClock,
  results: Map<SettlementCommand, CommandResult>,
): Promise<void> {
  if (cancellations.length === 0) return;
  const prior = new Map(
    (
      await findCancellationDecisions(
        db,
        cancellations.map((c) => c.commandId),
      )
    ).map((d) => [d.commandId, d]),
  );
  const inputs: CancellationDecisionInput[] = [];
  let expectedReleases = 0;
  for (const command of cancellations) {
    const target = locked.get(command.reservationId);
    const plan = planCancellation(command, target, prior.get(command.commandId));
    if (plan.kind === 'replay') {
      results.set(command, { ok: true, settlement: plan.settlement });
      continue;
    }
    if (plan.kind === 'refuse') {
      results.set(command, { ok: false, error: plan.error });
      continue;
    }
    if (plan.outcome === 'cancelled' && target?.bookingStatus === 'confirmed') expectedReleases++;
    inputs.push({
      commandId: command.commandId,
      reservationId: command.reservationId,
      customerId: command.customerId,
      vehicleId: command.vehicleId,
      outcome: plan.outcome,
      reason: plan.outcome === 'rejected' ? plan.reason : null,
      eventId: clock.newEventId(),
      correlationId: command.correlationId,
      partition: command.position.partition,
      offset: command.position.offset,
    });
  }
  const recorded = await recordCancellationDecisions(db, decidedAtMs, inputs);
  const accepted = inputs.filter((i) => i.outcome === 'cancelled').length;
  if (
    recorded.decisions.length !== inputs.length ||
    recorded.requestsCancelled !== accepted ||
    recorded.bookingsReleased !== expectedReleases
  ) {
    throw new SettlementInvariantError(
      `cancellations recorded ${recorded.decisions.length}/${inputs.length}, requests cancelled ${recorded.requestsCancelled}/${accepted}, bookings released ${recorded.bookingsReleased}/${expectedReleases}`,
    );
  }
  const byCommand = new Map(recorded.decisions.map((d) => [d.commandId, d]));
  for (const command of cancellations) {
    const decision = byCommand.get(command.commandId);
    if (decision)
      results.set(command, { ok: true, settlement: cancellationDecisionSettlement(decision, false) });
  }
}

async function settleRequests(
  db: PreparedQueryable,
  requests: readonly ReservationRequestCommand[],
  locked: ReadonlyMap<string, LockedReservationRequest>,
  decision: { decidedAtMs: number; startGraceMs: number },
  clock: SettlementClock,
  results: Map<SettlementCommand, CommandResult>,
): Promise<void> {
  const inputs: RequestDecisionInput[] = [];
  const deciding = new Map<string, ReservationRequestCommand>();
  for (const command of requests) {
    const row = locked.get(command.reservationId);
    if (!row)
      throw new SettlementInvariantError(
        `request ${command.reservationId} has no inbox row after recording it`,
      );
    const plan = planRequest(command, row, decision);
    if (plan.kind === 'replay') results.set(command, { ok: true, settlement: plan.settlement });
    else if (plan.kind === 'refuse') results.set(command, { ok: false, error: plan.error });
    else {
      deciding.set(command.reservationId, command);
      inputs.push({
        reservationId: command.reservationId,
        proposal: plan.proposal,
        reason: plan.reason,
        eventId: clock.newEventId(),
        commandId: command.commandId,
        correlationId: command.correlationId,
        partition: command.position.partition,
        offset: command.position.offset,
      });
    }
  }
  const decided = await decideReservationRequests(db, decision.decidedAtMs, inputs);
  if (decided.length !== inputs.length) {
    throw new SettlementInvariantError(
      `decided ${decided.length} of ${inputs.length} locked pending requests`,
    );
  }
  for (const record of decided) {
    const command = deciding.get(record.reservationId);
    if (command) results.set(command, { ok: true, settlement: requestDecisionSettlement(record, false) });
  }
}

/** The pending row the ingress would have written; the hash covers what the customer asked for. */
function newRequestOf(command: ReservationRequestCommand) {
  const canonical = JSON.stringify({
    customerId: command.customerId,
    vehicleId: command.vehicleId,
    startsAt: new Date(command.startsAtMs).toISOString(),
    endsAt: new Date(command.endsAtMs).toISOString(),
  });
  return { ...requestedBy(command), requestHash: createHash('sha256').update(canonical).digest() };
}

/** What a request command asks for: which reservation, whose, which vehicle, when. */
export function requestedBy(command: ReservationRequestCommand) {
  const { reservationId, customerId, vehicleId, startsAtMs, endsAtMs } = command;
  return { reservationId, customerId, vehicleId, startsAtMs, endsAtMs };
}

function byId(rows: readonly LockedReservationRequest[]): Map<string, LockedReservationRequest> {
  return new Map(rows.map((row) => [row.reservationId, row]));
}

/** Commands of one batch are decided against one snapshot, so none may depend on another. */
export function assertDistinct(commands: readonly SettlementCommand[]): void {
  const reservations = new Set<string>();
  const vehicles = new Set<string>();
  for (const command of commands) {
    if (reservations.has(command.reservationId) || vehicles.has(command.vehicleId)) {
      throw new Error(
        `a settlement batch must not hold two commands of one reservation or vehicle (${command.reservationId}, ${command.vehicleId})`,
      );
    }
    reservations.add(command.reservationId);
    vehicles.add(command.vehicleId);
  }
}
