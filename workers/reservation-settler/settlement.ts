import type { RejectionReason, ReservationEvent } from '../../schemas/generated/types.ts';
import type { ProcessingError } from '../runtime/errors/processingErrors.ts';

/** The outcome a decision announces. */
export type SettlementOutcome = 'confirmed' | 'rejected' | 'cancelled';

/** A settled command: the event announcing its decision, ready to emit. */
export interface Settlement {
  /** Built from the stored decision, so a replay rebuilds the identical event. */
  event: ReservationEvent;
  /** The event's record key: the vehicle id. */
  key: string;
  outcome: SettlementOutcome;
  /** The event's rejection reason (null unless rejected). */
  reason: RejectionReason | null;
  /** True when the decision already existed and is only re-emitted. */
  replayed: boolean;
}

/** Per command of a batch: its settlement, or the error to hand to the runtime for that command alone. */
export type CommandResult = { ok: true; settlement: Settlement } | { ok: false; error: ProcessingError };

/**
 * Reasons stored in the database. They are finer than the events' RejectionReason where operators
 * gain from it (a retired vehicle, a non-owner's cancellation); the event maps them to what a
 * customer may learn.
 */
export const storedReasons = Object.freeze({
  overlap: 'overlap',
  unknownVehicle: 'unknown_vehicle',
  vehicleRetired: 'vehicle_retired',
  periodStarted: 'period_started',
  notFound: 'not_found',
  notOwner: 'not_owner',
  wrongVehicle: 'wrong_vehicle',
  nothingToCancel: 'nothing_to_cancel',
});
