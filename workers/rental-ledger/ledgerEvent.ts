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
  /** The envelope's correlation id, else the record's (either cut to fit the column). */
  correlationId: string;
  position: { partition: number; offset: number };
  /**
   * SHA-256 of what the ledger records of the event (ledgerFactSha256): tells a replay (same fact)
   * from an event id reused for another fact, whichever compatible reader schema decoded it.
   */
  factSha256: string;
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
  const fact = ledgerFactOf(message);
  return { ...fact, factSha256: ledgerFactSha256(fact) } as LedgerEvent;
}

type WithoutFingerprint<E> = E extends LedgerEvent ? Omit<E, 'factSha256'> : never;
type LedgerFact = WithoutFingerprint<LedgerEvent>;

/**
 * The fingerprint of what the ledger records of an event, in the form it records it. Deliberately
 * not the decoded payload: another compatible reader schema decodes the same bytes differently (a
 * new field's default, an unknown enum symbol read as the default), and a replay must still match.
 * The payment purpose is left out for that reason (a newer symbol reads as `other` in older code).
 */
function ledgerFactSha256(fact: LedgerFact): string {
  const common = [fact.type, fact.rentalId, fact.customerId, fact.occurredAtMs];
  const money =
    fact.kind === 'payment'
      ? [fact.paymentId, fact.currency, fact.amountMinor]
      : fact.kind === 'refund'
        ? [fact.refundId, fact.paymentId, fact.currency, fact.amountMinor]
        : [];
  return createHash('sha256')
    .update(JSON.stringify([...common, ...money]))
    .digest('hex');
}

function ledgerFactOf(message: ConsumedMessage<RentalEvent>): LedgerFact {
  const { value } = message;
  const eventId = requireUuid(value.eventId, 'eventId');
  const [fullName, fields] = onlyBranch(value.payload, eventId);
  const type = fullName.slice(typePrefix.length) as RentalEventType;
  const payload = fields as Record<string, unknown> & { rentalId: string; customerId: string };
  // The correlation id only labels logs: whatever upstream wrote there is fitted, never refused
  // (a payment refused over it would never be booked, and its refunds would follow it).
  const envelope: Omit<LedgerEventEnvelope, 'factSha256'> = {
    eventId,
    type,
    rentalId: requireUuid(payload.rentalId, 'rentalId'),
    customerId: requireText(payload.customerId, 'customerId'),
    occurredAtMs: requireInstant(value.occurredAt, 'occurredAt'),
    correlationId: fittedCorrelationId(value.correlationId || message.correlationId),
    position: { partition: message.partition, offset: message.offset },
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

/** A correlation id (the envelope's or a header's, any text) as the column takes it: no NUL, at most 255 characters. */
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
