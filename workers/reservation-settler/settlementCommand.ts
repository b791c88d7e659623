import type { ReservationCommand } from '../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../runtime/consumer/consumedMessage.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';

/** Where a command sits on the commands topic; stored with its decision for audits. */
export interface CommandPosition {
  partition: number;
  offset: number;
}

/** What every command carries besides its payload. */
interface CommandEnvelope {
  commandId: string;
  /** The envelope's correlation id, else the record's; stored with the decision so replays carry the same. */
  correlationId: string;
  position: CommandPosition;
  reservationId: string;
  customerId: string;
  vehicleId: string;
}

/** A customer asks to book a vehicle for [startsAtMs, endsAtMs). */
export interface ReservationRequestCommand extends CommandEnvelope {
  kind: 'request';
  startsAtMs: number;
  endsAtMs: number;
}

/** A customer asks to cancel one of their reservations. */
export interface CancellationCommand extends CommandEnvelope {
  kind: 'cancellation';
}

/** A validated command, ready to settle. */
export type SettlementCommand = ReservationRequestCommand | CancellationCommand;

/** A command that decodes but breaks the commands contract: no retry can settle it (dead-lettered). */
export class InvalidCommandError extends PermanentError {
  constructor(message: string) {
    super(message, { code: 'INVALID_COMMAND' });
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 9999-12-31T23:59:59.999Z: keeps every instant a four-digit-year ISO string PostgreSQL reads exactly. */
const latestInstantMs = 253_402_300_799_999;
/** The column limit of customer ids and correlation ids. */
const maxTextLength = 255;

/**
 * Validates a decoded command against what the database will accept, so that one bad command
 * is refused on its own (dead-lettered) instead of failing the batch it would have joined.
 * The record key must be the vehicle id: per-vehicle serial settlement rests on it.
 */
export function toSettlementCommand(message: ConsumedMessage<ReservationCommand>): SettlementCommand {
  const { value } = message;
  const envelope = {
    commandId: requireUuid(value.commandId, 'commandId'),
    correlationId: correlationIdOf(value.correlationId, message.correlationId),
    position: { partition: message.partition, offset: message.offset },
  };
  const payload = value.payload;
  if ('dev.fleetstream.reservation.ReservationRequested' in payload) {
    const request = payload['dev.fleetstream.reservation.ReservationRequested'];
    const command: ReservationRequestCommand = {
      kind: 'request',
      ...envelope,
      reservationId: requireUuid(request.reservationId, 'reservationId'),
      customerId: requireCustomerId(request.customerId),
      vehicleId: requireUuid(request.vehicleId, 'vehicleId'),
      startsAtMs: requireInstant(request.startsAt, 'startsAt'),
      endsAtMs: requireInstant(request.endsAt, 'endsAt'),
    };
    if (command.startsAtMs >= command.endsAtMs) {
      throw new InvalidCommandError(
        `reservation ${command.reservationId}: startsAt must be before endsAt (the period [startsAt, endsAt) is empty)`,
      );
    }
    requireKeyIsVehicle(message.keyText, command);
    return command;
  }
  if ('dev.fleetstream.reservation.ReservationCancellationRequested' in payload) {
    const cancellation = payload['dev.fleetstream.reservation.ReservationCancellationRequested'];
    const command: CancellationCommand = {
      kind: 'cancellation',
      ...envelope,
      reservationId: requireUuid(cancellation.reservationId, 'reservationId'),
      customerId: requireCustomerId(cancellation.customerId),
      vehicleId: requireUuid(cancellation.vehicleId, 'vehicleId'),
    };
    requireKeyIsVehicle(message.keyText, command);
    return command;
  }
  throw new InvalidCommandError(
    `command ${envelope.commandId} has an unknown payload type: ${Object.keys(payload).join(', ')}`,
  );
}

function requireUuid(value: string, field: string): string {
  if (!uuidPattern.test(value))
    throw new InvalidCommandError(`${field} is not a UUID: ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

function requireCustomerId(value: string): string {
  if (value.length < 1 || value.length > maxTextLength) {
    throw new InvalidCommandError(`customerId must have 1 to ${maxTextLength} characters`);
  }
  return value;
}

function requireInstant(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > latestInstantMs) {
    throw new InvalidCommandError(`${field} is not an instant between 1970 and 9999: ${value}`);
  }
  return value;
}

function requireKeyIsVehicle(key: string, command: SettlementCommand): void {
  if (key.toLowerCase() !== command.vehicleId) {
    throw new InvalidCommandError(
      `command ${command.commandId} is keyed ${JSON.stringify(key)} but is about vehicle ${command.vehicleId}; commands must be keyed by vehicle id`,
    );
  }
}

/** Opaque ids longer than the column allows are cut rather than refused: they only serve tracing. */
function correlationIdOf(fromEnvelope: string | null, fromRecord: string): string {
  const chosen = fromEnvelope !== null && fromEnvelope.length > 0 ? fromEnvelope : fromRecord;
  return chosen.slice(0, maxTextLength);
}
