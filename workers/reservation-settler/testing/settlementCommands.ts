import { randomUUID } from 'node:crypto';
import type { ReservationCommand } from '../../../schemas/generated/types.ts';
import type {
  CancellationCommand,
  ReservationRequestCommand,
  SettlementCommand,
} from '../settlementCommand.ts';

const hourMs = 3_600_000;
/** 2031-01-01T00:00:00Z: test periods are hours after it. */
export const testEpochMs = Date.UTC(2031, 0, 1);

let nextOffset = 0;

/** A validated reservation request, as the handler would hand it to the batcher. */
export function requestCommand(options: {
  vehicleId: string;
  fromHour: number;
  toHour: number;
  customerId?: string;
  reservationId?: string;
  commandId?: string;
}): ReservationRequestCommand {
  return {
    kind: 'request',
    commandId: options.commandId ?? randomUUID(),
    correlationId: `test-${randomUUID()}`,
    position: { partition: 0, offset: nextOffset++ },
    reservationId: options.reservationId ?? randomUUID(),
    customerId: options.customerId ?? 'customer-1',
    vehicleId: options.vehicleId,
    startsAtMs: testEpochMs + options.fromHour * hourMs,
    endsAtMs: testEpochMs + options.toHour * hourMs,
  };
}

/**
 * `count` rounds of one request per vehicle, each round's requests overlapping the previous
 * round's on purpose: what two racing settlers must decide identically.
 */
export function overlappingRounds(vehicles: readonly string[], count: number): ReservationRequestCommand[][] {
  return Array.from({ length: count }, (_, round) =>
    vehicles.map((vehicleId, i) =>
      requestCommand({ vehicleId, fromHour: round * 3 + i, toHour: round * 3 + i + 5 }),
    ),
  );
}

/** A validated cancellation of `reservationId` by `customerId`. */
export function cancellationCommand(options: {
  reservationId: string;
  vehicleId: string;
  customerId?: string;
  commandId?: string;
}): CancellationCommand {
  return {
    kind: 'cancellation',
    commandId: options.commandId ?? randomUUID(),
    correlationId: `test-${randomUUID()}`,
    position: { partition: 0, offset: nextOffset++ },
    reservationId: options.reservationId,
    customerId: options.customerId ?? 'customer-1',
    vehicleId: options.vehicleId,
  };
}

/** The Avro value of a command, as the ingress would produce it. */
export function commandValue(command: SettlementCommand): ReservationCommand {
  const envelope = {
    commandId: command.commandId,
    occurredAt: Date.now(),
    correlationId: command.correlationId,
  };
  if (command.kind === 'request') {
    return {
      ...envelope,
      payload: {
        'dev.fleetstream.reservation.ReservationRequested': {
          reservationId: command.reservationId,
          customerId: command.customerId,
          vehicleId: command.vehicleId,
          startsAt: command.startsAtMs,
          endsAt: command.endsAtMs,
          requestedAt: Date.now(),
          idempotencyKey: null,
        },
      },
    };
  }
  return {
    ...envelope,
    payload: {
      'dev.fleetstream.reservation.ReservationCancellationRequested': {
        reservationId: command.reservationId,
        customerId: command.customerId,
        vehicleId: command.vehicleId,
        requestedAt: Date.now(),
      },
    },
  };
}
