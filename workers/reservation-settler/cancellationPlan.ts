import type {
  CancellationDecisionRecord,
  LockedReservationRequest,
} from '../../db/queries/settlement/settlementRecords.ts';
import { type Settlement, storedReasons } from './settlement.ts';
import { type CancellationCommand, InvalidCommandError } from './settlementCommand.ts';
import { cancellationDecisionSettlement, existingCancellationSettlement } from './settlementEvents.ts';

/** What to do with a cancellation command. */
export type CancellationPlan =
  | { kind: 'replay'; settlement: Settlement }
  | { kind: 'refuse'; error: InvalidCommandError }
  | { kind: 'decide'; outcome: 'cancelled' } // the target's pending or confirmed reservation is cancelled
  | { kind: 'decide'; outcome: 'rejected'; reason: string };

/**
 * Decides a cancellation. Only the owner's pending or confirmed reservation, on the vehicle the
 * command travelled with, is cancelled. An unknown id and someone else's reservation are refused
 * alike (stored apart for operators, identical on the events topic), so asking reveals nothing.
 * A reservation already cancelled re-emits its one cancellation event. A command whose id was
 * decided before for another reservation, customer or vehicle is refused (a producer reusing
 * command ids): replaying that decision would announce someone else's cancellation.
 */
export function planCancellation(
  command: CancellationCommand,
  target: LockedReservationRequest | undefined,
  prior: CancellationDecisionRecord | undefined,
): CancellationPlan {
  if (prior) {
    const mismatch = priorMismatchOf(command, prior);
    if (mismatch) {
      return {
        kind: 'refuse',
        error: new InvalidCommandError(
          `cancellation command ${command.commandId} was decided before for another ${mismatch}; command ids must be unique`,
        ),
      };
    }
    return { kind: 'replay', settlement: cancellationDecisionSettlement(prior, true) };
  }
  if (!target) return { kind: 'decide', outcome: 'rejected', reason: storedReasons.notFound };
  if (target.customerId !== command.customerId) {
    return { kind: 'decide', outcome: 'rejected', reason: storedReasons.notOwner };
  }
  // Commands of one reservation must share its vehicle key to be settled in order with it.
  if (target.vehicleId !== command.vehicleId) {
    return { kind: 'decide', outcome: 'rejected', reason: storedReasons.wrongVehicle };
  }
  if (target.status === 'rejected') {
    return { kind: 'decide', outcome: 'rejected', reason: storedReasons.nothingToCancel };
  }
  if (target.status === 'cancelled') {
    return { kind: 'replay', settlement: existingCancellationSettlement(target) };
  }
  return { kind: 'decide', outcome: 'cancelled' };
}

function priorMismatchOf(
  command: CancellationCommand,
  prior: CancellationDecisionRecord,
): string | undefined {
  if (prior.reservationId !== command.reservationId) return 'reservation';
  if (prior.customerId !== command.customerId) return 'customer';
  if (prior.vehicleId !== command.vehicleId) return 'vehicle';
  return undefined;
}
