import { DependencyUnavailableError, PermanentError } from '../runtime/errors/processingErrors.ts';
import type { Notification } from './notification.ts';
import type { ProviderSettings } from './notifierConfig.ts';

/** The breaker's name and the runtime's pause reason for the notification provider. */
export const providerDependency = 'provider';

/**
 * What became of one message: `sent` now; `duplicate`, the provider had this idempotency key and
 * answered with the message it already sent; `conflict`, it had the key with another message (409:
 * our wording changed between two deliveries of the same event, a replay after a deploy) — the
 * customer was told about this decision already, in the earlier words.
 */
export type DeliveryOutcome = 'sent' | 'duplicate' | 'conflict';

/** What the provider answered for one message. */
export interface ProviderReceipt {
  /** The provider's message id; absent for a conflict, which names no message. */
  messageId: string | undefined;
  outcome: DeliveryOutcome;
  /** The HTTP status, for logs. */
  status: number;
}

/** The provider refused this message for good (its content is invalid): dead-lettered with its answer. */
export class ProviderRejectedError extends PermanentError {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(`the notification provider refused the message with ${status}: ${detail}`, {
      code: 'PROVIDER_REJECTED',
    });
    this.status = status;
  }
}

/**
 * This message could not be made into an HTTP request (a header value fetch refuses): nothing was
 * sent, so the provider is not to blame and no retry will change it — dead-lettered at once.
 */
export class InvalidProviderRequestError extends PermanentError {
  constructor(message: string, options: { cause: unknown }) {
    super(message, { ...options, code: 'INVALID_PROVIDER_REQUEST' });
  }
}

/** Longest piece of a provider's error body kept in a message (it ends up in a DLQ header). */
const maxDetailLength = 300;

/**
 * The only answers that blame the message itself: malformed (400), too large (413), unprocessable
 * (422). Every other failure — 5xx, 429, a wrong or revoked token (401/403), a wrong URL
 * (404/405/415) — would refuse every message alike, so it pauses the partition instead: dead-
 * lettering them all would flood the DLQ while the fix is a configuration change or patience.
 */
const messageRefusalStatuses = new Set([400, 413, 422]);

/**
 * Sends one notification: POST JSON with the event id as `Idempotency-Key` (a replayed or
 * retried event is one message to the customer), within `timeoutMs`. Resolves with the receipt;
 * rejects with InvalidProviderRequestError when the message cannot become a request (nothing is
 * sent), ProviderRejectedError when the provider refuses the message itself (400, 413, 422) and
 * DependencyUnavailableError for anything else (timeout, refused connection, any other status).
 */
export async function sendNotification(
  settings: ProviderSettings,
  notification: Notification,
  signal: AbortSignal,
): Promise<ProviderReceipt> {
  const request = providerRequest(settings, notification, signal);
  let response: Response;
  try {
    response = await fetch(request);
  } catch (error) {
    // The request was valid, so this is the transport: fetch's TypeError "fetch failed" (with the
    // network error as its cause), an abort or our timeout.
    throw new DependencyUnavailableError(
      providerDependency,
      `the notification provider did not answer: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    const body = parseJson(text) as { messageId?: unknown; duplicate?: unknown } | undefined;
    if (typeof body?.messageId !== 'string') {
      throw new DependencyUnavailableError(
        providerDependency,
        `the notification provider answered ${response.status} without a messageId`,
      );
    }
    return {
      messageId: body.messageId,
      outcome: body.duplicate === true ? 'duplicate' : 'sent',
      status: response.status,
    };
  }
  if (response.status === 409) return { messageId: undefined, outcome: 'conflict', status: 409 };
  const detail = text.slice(0, maxDetailLength);
  if (messageRefusalStatuses.has(response.status)) throw new ProviderRejectedError(response.status, detail);
  throw new DependencyUnavailableError(
    providerDependency,
    `the notification provider answered ${response.status}: ${detail}`,
  );
}

/**
 * The HTTP request for one notification, built apart from sending it: fetch reports an invalid
 * request (a header value with a line break or a character above U+00FF) as a TypeError just like a
 * network failure, and only where it is thrown tells the message's fault from the provider's.
 */
function providerRequest(
  settings: ProviderSettings,
  notification: Notification,
  signal: AbortSignal,
): Request {
  try {
    return new Request(settings.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${settings.token}`,
        'content-type': 'application/json',
        'idempotency-key': notification.idempotencyKey,
        'x-correlation-id': notification.correlationId,
      },
      body: JSON.stringify({ to: notification.to, template: notification.template, data: notification.data }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
    });
  } catch (error) {
    // fetch quotes the refused value; the token is checked at start, but must never reach a DLQ header.
    const reason = (error as Error).message.replaceAll(settings.token, '[REDACTED]');
    throw new InvalidProviderRequestError(
      `the notification with idempotency key ${JSON.stringify(notification.idempotencyKey.slice(0, 100))} cannot be an HTTP request, nothing was sent: ${reason}`,
      { cause: error },
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // reported by the caller as an answer without a messageId
  }
}
