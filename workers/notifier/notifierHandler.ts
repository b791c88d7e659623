import type { Registry } from 'prom-client';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import type { MessageHandler } from '../runtime/consumer/consumedMessage.ts';
import { DependencyUnavailableError } from '../runtime/errors/processingErrors.ts';
import type { Logger } from '../runtime/observability/logger.ts';
import type { BreakerRegistry } from '../runtime/resilience/breakerRegistry.ts';
import { BreakerTimeoutError, createCircuitBreaker } from '../runtime/resilience/circuitBreaker.ts';
import { resilienceLoggerFor } from '../runtime/resilience/resilienceLogger.ts';
import { type Notification, notificationFor } from './notification.ts';
import type { ProviderSettings } from './notifierConfig.ts';
import type { NotifierMetrics } from './notifierMetrics.ts';
import {
  InvalidProviderRequestError,
  type ProviderReceipt,
  ProviderRejectedError,
  providerDependency,
  sendNotification,
} from './providerClient.ts';

/** What the notifier's handler needs. */
export interface NotifierHandlerDeps {
  provider: ProviderSettings;
  breakers: BreakerRegistry;
  registry: Registry;
  metrics: NotifierMetrics;
  logger: Logger;
}

/**
 * The notifier's message handler: one message to the customer per decision event, through the
 * provider's circuit breaker. The event id is the provider's idempotency key, so a retry or a
 * replay reaches the customer once. A provider outage pauses the partitions (the breaker opens
 * under repeated failures and its half-open probe resumes them); a message the provider refuses
 * is dead-lettered with its answer.
 */
export function createNotifierHandler(deps: NotifierHandlerDeps): MessageHandler<ReservationEvent> {
  const { metrics, logger } = deps;
  const breaker = deps.breakers.add(
    createCircuitBreaker(
      providerDependency,
      (signal: AbortSignal, notification: Notification): Promise<ProviderReceipt> =>
        timedProviderCall(metrics, () => sendNotification(deps.provider, notification, signal)),
      {
        // The client's own timeout fires first; this only catches a call that hangs past it.
        timeoutMs: deps.provider.timeoutMs + 1_000,
        registry: deps.registry,
        logger: resilienceLoggerFor(logger),
      },
    ),
  );
  return async (message) => {
    const notification = notificationFor(message);
    let receipt: ProviderReceipt;
    try {
      receipt = await breaker.fire(notification);
    } catch (error) {
      // A call that hung past the breaker is the provider being unwell: pause, never dead-letter.
      if (error instanceof BreakerTimeoutError) {
        throw new DependencyUnavailableError(providerDependency, error.message, { cause: error });
      }
      throw error;
    }
    metrics.countDelivered(notification.template, receipt.outcome);
    if (receipt.outcome === 'conflict') {
      logger.warn(
        { eventId: notification.idempotencyKey, template: notification.template },
        'provider knew this idempotency key with other words: the customer was told before, not again',
      );
    }
    logger.debug(
      {
        eventId: notification.idempotencyKey,
        template: notification.template,
        messageId: receipt.messageId,
        outcome: receipt.outcome,
        correlationId: notification.correlationId,
      },
      'customer notified',
    );
  };
}

/**
 * Runs one provider call and times it by outcome. It runs inside the breaker, so the calls an open
 * breaker refuses are never timed (they reach no provider), and neither is a request that could
 * not be built (InvalidProviderRequestError: nothing was sent).
 */
async function timedProviderCall(
  metrics: NotifierMetrics,
  call: () => Promise<ProviderReceipt>,
): Promise<ProviderReceipt> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const receipt = await call();
    metrics.observeCall('ok', seconds());
    return receipt;
  } catch (error) {
    if (error instanceof ProviderRejectedError) metrics.observeCall('rejected', seconds());
    else if (!(error instanceof InvalidProviderRequestError)) metrics.observeCall('unavailable', seconds());
    throw error;
  }
}
