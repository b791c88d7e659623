import { createHash } from 'node:crypto';
import type {
  PaymentCaptured,
  PaymentPurpose,
  RefundIssued,
  RentalEvent,
} from '../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../runtime/consumer/consumedMessage.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';

/** The rental event types, as stored in fleet.ledger_events.event_type. */
export type RentalEventType =
  | 'RentalStarted'
  | 'RentalExtended'
  | 'RentalEnded'
  | 'PaymentCaptured'
  | 'RefundIssued';

/** What every rental event carries, validated. */
interface LedgerEventEnvelope {
  eventId: string;
  type: RentalEventType;
  rentalId: string;
  customerId: string;
  occurredAtMs: number;
  /** The envelope's correlation id, else the record's (cut to fit the column). */
  correlationId: string;
  position: { partition: number; offset: number };
  /** SHA-256 of the payload: tells a replay (same fact) from an event id reused for another fact. */
  payloadSha256: string;
}

/** A lifecycle fact without money: recorded, nothing posted. */
export interface LifecycleEvent extends LedgerEventEnvelope {
  kind: 'lifecycle';
}

/** A captured payment. */
export interface PaymentEvent extends LedgerEventEnvelope {
  kind: 'payment';
  paymentId: string;
  purpose: PaymentPurpose;
  currency: string;
  amountMinor: number;
}

/** A refund against an earlier payment. */
export interface RefundEvent extends LedgerEventEnvelope {
  kind: 'refund';
  refundId: string;
  paymentId: string;
  currency: string;
  amountMinor: number;
}

/** A validated rental event, ready to record. */
export type LedgerEvent = LifecycleEvent | PaymentEvent | RefundEvent;

/** An event that decodes but breaks the rental events contract: no retry can post it (dead-lettered). */
export class InvalidRentalEventError extends PermanentError {
  constructor(message: string) {
    super(message, { code: 'INVALID_RENTAL_EVENT' });
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const currencyPattern = /^[A-Z]{3}$/;
/** The column limit of customer and correlation ids. */
const maxTextLength = 255;
/** 9999-12-31T23:59:59.999Z, the last instant PostgreSQL's timestamptz reads as a four-digit year. */
const latestInstantMs = 253_402_300_799_999;
const typePrefix = 'dev.fleetstream.rental.';

/**
 * Validates a decoded rental event against what the ledger will store, so a bad event is refused
 * on its own with a reason (dead-lettered with its bytes and this message). The record key must
 * be the rental id: the per-rental order the ledger relies on (a refund after its payment) rests on it.
 */
export function toLedgerEvent(message: ConsumedMessage<RentalEvent>): LedgerEvent {
  const { value } = message;
  const eventId = requireUuid(value.eventId, 'eventId');
  const [fullName, fields] = onlyBranch(value.payload, eventId);
  const type = fullName.slice(typePrefix.length) as RentalEventType;
  const payload = fields as Record<string, unknown> & { rentalId: string; customerId: string };
  const envelope: LedgerEventEnvelope = {
    eventId,
    type,
    rentalId: requireUuid(payload.rentalId, 'rentalId'),
    customerId: requireText(payload.customerId, 'customerId'),
    occurredAtMs: requireInstant(value.occurredAt, 'occurredAt'),
    correlationId: value.correlationId
      ? requireText(value.correlationId, 'correlationId')
      : fittedCorrelationId(message.correlationId),
    position: { partition: message.partition, offset: message.offset },
    payloadSha256: createHash('sha256').update(JSON.stringify(value.payload)).digest('hex'),
  };
  // Exactly the rental id as upstream wrote it: another spelling (case) is other key bytes, hashed
  // to another partition, where a refund could overtake its payment.
  if (message.keyText !== payload.rentalId) {
    throw new InvalidRentalEventError(
      `event ${eventId} is keyed ${JSON.stringify(message.keyText)}, not by its rental ${envelope.rentalId}: per-rental order would not hold`,
    );
  }
  switch (type) {
    case 'RentalStarted':
    case 'RentalExtended':
    case 'RentalEnded':
      return { kind: 'lifecycle', ...envelope };
    case 'PaymentCaptured': {
      const payment = payload as unknown as PaymentCaptured;
      return {
        kind: 'payment',
        ...envelope,
        paymentId: requireUuid(payment.paymentId, 'paymentId'),
        purpose: payment.purpose,
        currency: requireCurrency(payment.amount.currency),
        amountMinor: requireAmount(payment.amount.amountMinor),
      };
    }
    case 'RefundIssued': {
      const refund = payload as unknown as RefundIssued;
      return {
        kind: 'refund',
        ...envelope,
        refundId: requireUuid(refund.refundId, 'refundId'),
        paymentId: requireUuid(refund.paymentId, 'paymentId'),
        currency: requireCurrency(refund.amount.currency),
        amountMinor: requireAmount(refund.amount.amountMinor),
      };
    }
    default:
      throw new InvalidRentalEventError(`event ${eventId} has an unknown payload type: ${fullName}`);
  }
}

function onlyBranch(payload: RentalEvent['payload'], eventId: string): [string, unknown] {
  const branches = Object.entries(payload);
  const [branch] = branches;
  if (branches.length !== 1 || !branch || !branch[0].startsWith(typePrefix)) {
    throw new InvalidRentalEventError(`event ${eventId} has no single rental payload`);
  }
  return branch;
}

/** The record's correlation id (a header, any bytes) as the column takes it: no NUL, at most 255 characters. */
function fittedCorrelationId(value: string): string {
  const cleaned = value.replaceAll('\u0000', '').slice(0, maxTextLength);
  return cleaned.length > 0 ? cleaned : 'none';
}

function requireUuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !uuidPattern.test(value)) {
    throw new InvalidRentalEventError(`${field} is not a UUID: ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > maxTextLength) {
    throw new InvalidRentalEventError(`${field} must have 1 to ${maxTextLength} characters`);
  }
  return value;
}

function requireInstant(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > latestInstantMs) {
    throw new InvalidRentalEventError(`${field} is not an instant between 1970 and 9999: ${value}`);
  }
  return value;
}

function requireCurrency(value: string): string {
  if (!currencyPattern.test(value)) {
    throw new InvalidRentalEventError(
      `currency must be an upper-case ISO 4217 code: ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function requireAmount(value: number): number {
  // Zero moves no money and a negative amount contradicts the event type, which gives the direction.
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidRentalEventError(`amountMinor must be a positive whole number of minor units: ${value}`);
  }
  return value;
}
