import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  bodyFieldError,
  type FieldError,
  HttpProblem,
  problemTypes,
  validationProblem,
} from '../http/problemDetails.ts';
import type { ReservationRules } from '../ingressConfig.ts';
import { parseRfc3339 } from './rfc3339.ts';

/** A validated reservation request: the customer comes from the token, never from here. */
export interface ReservationRequestInput {
  /** Lower-case UUID. */
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
}

/** Any RFC 4122/9562 layout; whether the vehicle exists is the catalog's call. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const dayMs = 86_400_000;

// strictObject: a body naming any other property (status, customerId, reservationId…) is refused
// outright rather than silently ignored — mass assignment (OWASP API3) fails loudly.
const bodySchema = z.strictObject({
  vehicleId: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
});

/**
 * Checks the body of POST /v1/reservations. Shape and format problems are 400 (every field
 * named at once); a well-formed period that breaks a rule is 422 naming the field.
 */
export function parseReservationRequest(
  body: unknown,
  rules: ReservationRules,
  nowMs: number,
): ReservationRequestInput {
  const input = parseReservationShape(body);
  const broken = reservationRuleProblem(input, rules, nowMs);
  if (broken) throw broken;
  return input;
}

/** The request as the server understands it, or a 400 naming every malformed field; no rule checked yet. */
export function parseReservationShape(body: unknown): ReservationRequestInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw validationProblem(
      [bodyFieldError('body', 'must be a JSON object')],
      'the body must be a JSON object with vehicleId, startsAt and endsAt',
    );
  }
  const parsed = bodySchema.safeParse(body);
  const errors: FieldError[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          errors.push(bodyFieldError(key, 'is not a field of this request and may not be set'));
      } else {
        const field = String(issue.path[0] ?? '');
        const present = Object.hasOwn(body, field);
        errors.push(bodyFieldError(field, present ? 'must be a string' : 'is required'));
      }
    }
    throw validationProblem(errors);
  }
  const { vehicleId, startsAt, endsAt } = parsed.data;
  if (!uuidPattern.test(vehicleId)) errors.push(bodyFieldError('vehicleId', 'must be a UUID'));
  const startsAtMs = parseRfc3339(startsAt);
  const endsAtMs = parseRfc3339(endsAt);
  const format = 'must be an RFC 3339 date-time with an offset, e.g. 2030-05-01T10:00:00Z';
  if (startsAtMs === undefined) errors.push(bodyFieldError('startsAt', format));
  if (endsAtMs === undefined) errors.push(bodyFieldError('endsAt', format));
  if (errors.length > 0 || startsAtMs === undefined || endsAtMs === undefined)
    throw validationProblem(errors);
  return { vehicleId: vehicleId.toLowerCase(), startsAtMs, endsAtMs };
}

/**
 * The 422 a well-formed request gets for breaking a reservation rule (order, length, past,
 * advance), or undefined. Time-dependent: the same request may pass now and fail later.
 */
export function reservationRuleProblem(
  { startsAtMs, endsAtMs }: ReservationRequestInput,
  rules: ReservationRules,
  nowMs: number,
): HttpProblem | undefined {
  const rule: FieldError[] = [];
  if (endsAtMs <= startsAtMs) rule.push(bodyFieldError('endsAt', 'must be after startsAt'));
  else if (endsAtMs - startsAtMs > rules.maxDurationDays * dayMs) {
    rule.push(bodyFieldError('endsAt', `must be at most ${rules.maxDurationDays} days after startsAt`));
  }
  if (startsAtMs < nowMs - rules.startGraceSeconds * 1000)
    rule.push(bodyFieldError('startsAt', 'must not be in the past'));
  else if (startsAtMs > nowMs + rules.maxAdvanceDays * dayMs) {
    rule.push(bodyFieldError('startsAt', `must be at most ${rules.maxAdvanceDays} days from now`));
  }
  if (rule.length === 0) return undefined;
  return new HttpProblem({
    status: 422,
    type: problemTypes.invalidPeriod,
    title: 'Invalid reservation period',
    detail: 'the requested period breaks a reservation rule',
    errors: rule,
  });
}

/**
 * sha256 of the request as the server understood it (instants, not their spelling), stored with
 * the Idempotency-Key: the same key with another hash is a different request (422).
 */
export function requestHash(input: ReservationRequestInput): Buffer {
  return createHash('sha256')
    .update(JSON.stringify([input.vehicleId, input.startsAtMs, input.endsAtMs]))
    .digest();
}

/** Longest Idempotency-Key accepted. */
export const maxIdempotencyKeyLength = 200;
const idempotencyKeyPattern = /^[\x21-\x7e]+$/;

/**
 * The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header): 1-200 visible ASCII
 * characters; a structured-field string (`"…"`) is unwrapped. Undefined when absent. Pass every
 * value the request carried (`headersDistinct`): Node joins repeated headers with `, `, which
 * would read as one malformed key instead of a key sent twice.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const problem = (detail: string) =>
    validationProblem(
      [{ field: 'Idempotency-Key', in: 'header', detail }],
      'the Idempotency-Key header is invalid',
    );
  if (Array.isArray(header) && header.length !== 1) throw problem('must be sent once');
  let key = (Array.isArray(header) ? (header[0] as string) : header).trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (
    key.length === 0 ||
    key.length > maxIdempotencyKeyLength ||
    !idempotencyKeyPattern.test(key) ||
    key.includes('"')
  ) {
    throw problem(`must be 1-${maxIdempotencyKeyLength} visible ASCII characters`);
  }
  return key;
}
