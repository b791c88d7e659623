import type { ReservationEvent } from '../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../runtime/consumer/consumedMessage.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';

/** What the customer is told; the provider holds the wording of each template. */
export type NotificationTemplate =
  | 'reservation.confirmed'
  | 'reservation.rejected'
  | 'reservation.cancelled'
  | 'cancellation.rejected';

/** One message for the provider: to whom, which template, with what. */
export interface Notification {
  /** The decision event's id: the provider's idempotency key, so a replayed event is one message. */
  idempotencyKey: string;
  /** The customer (token subject); the provider resolves it to an address. */
  to: string;
  template: NotificationTemplate;
  data: {
    reservationId: string;
    vehicleId: string;
    /** ISO 8601 instants of the period; absent for a refused cancellation. */
    startsAt?: string;
    endsAt?: string;
    /** Why a request was refused (the RejectionReason symbol); absent otherwise. */
    reason?: string;
  };
  /** Carried to the provider (an HTTP header: visible ASCII only) and into logs. */
  correlationId: string;
}

/** An event that decodes but cannot become a message (no customer to tell): dead-lettered. */
export class UnnotifiableEventError extends PermanentError {
  constructor(message: string) {
    super(message, { code: 'UNNOTIFIABLE_EVENT' });
  }
}

/** Any RFC 9562 UUID: the settler writes random (v4) ids and name-based (v5) ones on re-emission. */
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The message a decision event asks for: the customer hears about every decision on their request. */
export function notificationFor(message: ConsumedMessage<ReservationEvent>): Notification {
  const event = message.value;
  const base = {
    idempotencyKey: requireUuidEventId(event.eventId),
    correlationId: headerSafe(event.correlationId ?? message.correlationId),
  };
  const payload = event.payload;
  if ('dev.fleetstream.reservation.ReservationConfirmed' in payload) {
    const confirmed = payload['dev.fleetstream.reservation.ReservationConfirmed'];
    return {
      ...base,
      to: requireCustomer(confirmed.customerId, event.eventId),
      template: 'reservation.confirmed',
      data: {
        reservationId: confirmed.reservationId,
        vehicleId: confirmed.vehicleId,
        startsAt: isoInstant(confirmed.startsAt, event.eventId),
        endsAt: isoInstant(confirmed.endsAt, event.eventId),
      },
    };
  }
  if ('dev.fleetstream.reservation.ReservationRejected' in payload) {
    const rejected = payload['dev.fleetstream.reservation.ReservationRejected'];
    const data = {
      reservationId: rejected.reservationId,
      vehicleId: rejected.vehicleId,
      startsAt: rejected.startsAt === null ? undefined : isoInstant(rejected.startsAt, event.eventId),
      endsAt: rejected.endsAt === null ? undefined : isoInstant(rejected.endsAt, event.eventId),
      reason: rejected.reason,
    };
    return {
      ...base,
      to: requireCustomer(rejected.customerId, event.eventId),
      template:
        rejected.rejectedRequest === 'cancellation' ? 'cancellation.rejected' : 'reservation.rejected',
      // `detail` is for operators only (schema): never sent to a customer.
      data: Object.fromEntries(
        Object.entries(data).filter(([, v]) => v !== undefined),
      ) as Notification['data'],
    };
  }
  if ('dev.fleetstream.reservation.ReservationCancelled' in payload) {
    const cancelled = payload['dev.fleetstream.reservation.ReservationCancelled'];
    return {
      ...base,
      to: requireCustomer(cancelled.customerId, event.eventId),
      template: 'reservation.cancelled',
      data: { reservationId: cancelled.reservationId, vehicleId: cancelled.vehicleId },
    };
  }
  throw new UnnotifiableEventError(
    `event ${event.eventId} has an unknown payload type: ${Object.keys(payload).join(', ')}`,
  );
}

/**
 * A correlation id as an HTTP header value can carry it: any other character (a line break, a
 * non-ASCII letter) would make the request itself fail, which must not read as the provider failing.
 */
function headerSafe(value: string): string {
  const safe = value.replace(/[^\x21-\x7e]/g, '_').slice(0, 255);
  return safe.length > 0 ? safe : 'none';
}

/**
 * The event id, which becomes the provider's Idempotency-Key header. The schema's logicalType uuid
 * is not enforced by the reader, and an id with a line break or a character above U+00FF would make
 * every HTTP call fail before it is sent — read as the provider being down, forever.
 */
function requireUuidEventId(eventId: string): string {
  if (!uuidPattern.test(eventId)) {
    throw new UnnotifiableEventError(
      `event id ${JSON.stringify(eventId.slice(0, 100))} is not a UUID: it cannot be the provider's idempotency key`,
    );
  }
  return eventId;
}

/** An Avro timestamp-millis as ISO 8601; one outside the range of a JS Date can never be told. */
function isoInstant(ms: number, eventId: string): string {
  const instant = new Date(ms);
  if (Number.isNaN(instant.getTime())) {
    throw new UnnotifiableEventError(`event ${eventId} has a period outside the range of a date: ${ms}`);
  }
  return instant.toISOString();
}

function requireCustomer(customerId: string, eventId: string): string {
  if (customerId.length < 1 || customerId.length > 255) {
    throw new UnnotifiableEventError(`event ${eventId} names no customer to notify`);
  }
  return customerId;
}
