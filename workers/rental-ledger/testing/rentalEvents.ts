import { randomUUID } from 'node:crypto';
import type { PaymentPurpose, RentalEvent } from '../../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../../runtime/consumer/consumedMessage.ts';

const hourMs = 3_600_000;
const baseMs = Date.UTC(2026, 10, 1, 9);

/** Rental events as upstream services write them (Avro values of fleet.rental.events.v1), for tests. */
export const rentalEvents = {
  started(rentalId: string, customerId = 'alice'): RentalEvent {
    return envelope({
      'dev.fleetstream.rental.RentalStarted': {
        rentalId,
        reservationId: null,
        customerId,
        vehicleId: randomUUID(),
        startedAt: baseMs,
        dueAt: baseMs + 24 * hourMs,
        odometerKm: 12_000,
        fuelLevelPercent: 100,
      },
    });
  },
  ended(rentalId: string, customerId = 'alice'): RentalEvent {
    return envelope({
      'dev.fleetstream.rental.RentalEnded': {
        rentalId,
        customerId,
        vehicleId: randomUUID(),
        returnedAt: baseMs + 20 * hourMs,
        odometerKm: 12_240,
        distanceKm: 240,
        fuelLevelPercent: 80,
      },
    });
  },
  payment(options: {
    rentalId: string;
    amountMinor: number;
    purpose?: PaymentPurpose;
    currency?: string;
    paymentId?: string;
    customerId?: string;
  }): RentalEvent {
    return envelope({
      'dev.fleetstream.rental.PaymentCaptured': {
        paymentId: options.paymentId ?? randomUUID(),
        rentalId: options.rentalId,
        customerId: options.customerId ?? 'alice',
        amount: { amountMinor: options.amountMinor, currency: options.currency ?? 'EUR' },
        purpose: options.purpose ?? 'rental_charge',
        providerReference: `psp-${randomUUID().slice(0, 8)}`,
        capturedAt: baseMs + hourMs,
      },
    });
  },
  refund(options: {
    rentalId: string;
    paymentId: string;
    amountMinor: number;
    currency?: string;
    refundId?: string;
    customerId?: string;
  }): RentalEvent {
    return envelope({
      'dev.fleetstream.rental.RefundIssued': {
        refundId: options.refundId ?? randomUUID(),
        paymentId: options.paymentId,
        rentalId: options.rentalId,
        customerId: options.customerId ?? 'alice',
        amount: { amountMinor: options.amountMinor, currency: options.currency ?? 'EUR' },
        reason: null,
        issuedAt: baseMs + 21 * hourMs,
      },
    });
  },
};

function envelope(payload: RentalEvent['payload']): RentalEvent {
  return { eventId: randomUUID(), occurredAt: baseMs, correlationId: null, payload };
}

/**
 * One rental's life as upstream writes it, in order: started, the rental charge, a deposit, ended,
 * the deposit refunded in full and `refundMinor` of the charge refunded.
 */
export function rentalLife(chargeMinor: number, refundMinor: number, customerId = 'alice'): RentalEvent[] {
  const rentalId = randomUUID();
  const chargeId = randomUUID();
  const depositId = randomUUID();
  return [
    rentalEvents.started(rentalId, customerId),
    rentalEvents.payment({ rentalId, paymentId: chargeId, amountMinor: chargeMinor, customerId }),
    rentalEvents.payment({
      rentalId,
      paymentId: depositId,
      amountMinor: 50_000,
      purpose: 'deposit',
      customerId,
    }),
    rentalEvents.ended(rentalId, customerId),
    rentalEvents.refund({ rentalId, paymentId: depositId, amountMinor: 50_000, customerId }),
    rentalEvents.refund({ rentalId, paymentId: chargeId, amountMinor: refundMinor, customerId }),
  ];
}

/** The same event announced again under a new event id (what a re-publishing upstream does). */
export function republished(event: RentalEvent): RentalEvent {
  return { ...event, eventId: randomUUID() };
}

/** The rental id an event is about (its record key). */
export function rentalIdOf(event: RentalEvent): string {
  const fields = Object.values(event.payload)[0] as { rentalId: string };
  return fields.rentalId;
}

/** An event as the ledger's handler sees it after the runtime decoded it, keyed by its rental. */
export function consumedRentalEvent(
  value: RentalEvent,
  position: { partition: number; offset: number } = { partition: 0, offset: 0 },
  key: string = rentalIdOf(value),
): ConsumedMessage<RentalEvent> {
  return {
    topic: 'fleet.rental.events.v1',
    ...position,
    key: Buffer.from(key),
    keyText: key,
    value,
    rawValue: null,
    headers: {},
    timestamp: baseMs,
    correlationId: 'test-correlation',
    attempt: 1,
  };
}
