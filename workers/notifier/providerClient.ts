import { DependencyUnavailableError, PermanentError } from '../runtime/errors/processingErrors.ts';
import type { Notification } from './notification.ts';
import type { ProviderSettings } from './notifierConfig.ts';

/** The breaker's name and the runtime's pause reason for the notification provider. */
export const providerDependency = 'provider';

/** What the provider answered for one accepted message. */
export interface ProviderReceipt {
  messageId: string;
  /** The provider had this idempotency key already: the customer was told once, not twice. */
  duplicate: boolean;
  /** The HTTP status, for metrics. */
  status: number;
}

/** The provider refused this message for good (4xx about the message itself): dead-lettered with its answer. */
export class ProviderRejectedError extends PermanentError {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(`the notification provider refused the message with ${status}: ${detail}`, {
      code: status === 409 ? 'PROVIDER_IDEMPOTENCY_CONFLICT' : 'PROVIDER_REJECTED',
    });
    this.status = status;
  }
}

/** Longest piece of a provider's error body kept in a message (it ends up in a DLQ header). */
const maxDetailLength = 300;

/**
 * Statuses that say the provider (or our access to it) is unwell, not that the message is wrong:
 * the partition pauses and nothing is dead-lettered. 401/403 belong here — a revoked or wrong
 * token refuses every message alike, and dead-lettering them all would flood the DLQ.
 */
function isProviderOutage(status: number): boolean {
  return (
    status === 401 || status === 403 || status === 408 || status === 425 || status === 429 || status >= 500
  );
}

/**
 * Sends one notification: POST JSON with the event id as `Idempotency-Key` (a replayed or
 * retried event is one message to the customer), within `timeoutMs`. Resolves with the receipt;
 * rejects with DependencyUnavailableError for an outage (timeout, refused connection, 5xx, 429,
 * 401/403) and ProviderRejectedError for a refusal of the message itself.
 */
export async function sendNotification(
  settings: ProviderSettings,
  notification: Notification,
  signal: AbortSignal,
): Promise<ProviderReceipt> {
  let response: Response;
  try {
    response = await fetch(settings.url, {
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
    return { messageId: body.messageId, duplicate: body.duplicate === true, status: response.status };
  }
  const detail = text.slice(0, maxDetailLength);
  if (isProviderOutage(response.status)) {
    throw new DependencyUnavailableError(
      providerDependency,
      `the notification provider answered ${response.status}: ${detail}`,
    );
  }
  throw new ProviderRejectedError(response.status, detail);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // reported by the caller as an answer without a messageId
  }
}
