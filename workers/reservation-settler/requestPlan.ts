import type { RequestProposal } from '../../db/queries/settlement/decideReservationRequests.ts';
import type { LockedReservationRequest } from '../../db/queries/settlement/settlementRecords.ts';
import { type Settlement, storedReasons } from './settlement.ts';
import { InvalidCommandError, type ReservationRequestCommand } from './settlementCommand.ts';
import { requestDecisionSettlement } from './settlementEvents.ts';

/** What to do with a reservation request, given its locked inbox row. */
export type RequestPlan =
  | { kind: 'replay'; settlement: Settlement }
  | { kind: 'refuse'; error: InvalidCommandError }
  | { kind: 'decide'; proposal: RequestProposal; reason: string | null };

/**
 * Decides how to settle a request against its locked row. A decided row is re-emitted as it was
 * decided, never decided again. A pending row is booked (the exclusion constraint has the last
 * word) unless its vehicle is unknown or retired, or its period started more than
 * `startGraceMs` before `decidedAtMs` (a request that waited out an outage). A command that
 * disagrees with the row the ingress recorded under its id is refused: settling it would decide
 * someone else's request.
 */
export function planRequest(
  command: ReservationRequestCommand,
  row: LockedReservationRequest,
  decision: { decidedAtMs: number; startGraceMs: number },
): RequestPlan {
  const mismatch = mismatchOf(command, row);
  if (mismatch) {
    return {
      kind: 'refuse',
      error: new InvalidCommandError(
        `command ${command.commandId} does not match the recorded request ${command.reservationId}: ${mismatch} differs`,
      ),
    };
  }
  if (row.status !== 'pending') return { kind: 'replay', settlement: requestDecisionSettlement(row, true) };
  // A booking under this id without a decision can only come from another writer: record what it says.
  if (row.bookingStatus !== null) return { kind: 'decide', proposal: row.bookingStatus, reason: null };
  if (!row.vehicleKnown)
    return { kind: 'decide', proposal: 'rejected', reason: storedReasons.unknownVehicle };
  if (!row.vehicleActive)
    return { kind: 'decide', proposal: 'rejected', reason: storedReasons.vehicleRetired };
  if (row.startsAtMs < decision.decidedAtMs - decision.startGraceMs)
    return { kind: 'decide', proposal: 'rejected', reason: storedReasons.periodStarted };
  return { kind: 'decide', proposal: 'book', reason: null };
}

function mismatchOf(command: ReservationRequestCommand, row: LockedReservationRequest): string | undefined {
  if (row.customerId !== command.customerId) return 'customerId';
  if (row.vehicleId !== command.vehicleId) return 'vehicleId';
  if (row.startsAtMs !== command.startsAtMs || row.endsAtMs !== command.endsAtMs) return 'the period';
  return undefined;
}
