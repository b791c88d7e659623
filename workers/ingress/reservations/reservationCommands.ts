import { createHash, randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import type { Counter, Registry } from 'prom-client';
import type { ReservationCommand } from '../../../schemas/generated/types.ts';
import {
  AvroEncodeError,
  SchemaRegistryUnavailableError,
  SubjectNotRegisteredError,
} from '../../runtime/avro/avroErrors.ts';
import { DependencyUnavailableError } from '../../runtime/errors/processingErrors.ts';
import type { Logger } from '../../runtime/observability/logger.ts';
import { extractTraceContext } from '../../runtime/observability/tracing.ts';
import type { DeliveryReceipt, FleetProducer } from '../../runtime/producer/fleetProducer.ts';
import {
  BreakerTimeoutError,
  createCircuitBreaker,
  type WorkerCircuitBreaker,
} from '../../runtime/resilience/circuitBreaker.ts';
import type { EnqueueSettings } from '../ingressConfig.ts';

/** Why a command was not enqueued (the bounded `reason` label of fleet_ingress_enqueue_failures_total). */
export type EnqueueFailureReason =
  | 'breaker_open'
  | 'not_connected'
  | 'timeout'
  | 'broker'
  | 'registry'
  | 'encode';

/**
 * A command did not reach the broker. `retriable` is false only for `encode` (a value that does
 * not match the schema: a bug, answered 500); everything else is a 503 the client may retry.
 */
export class EnqueueError extends Error {
  readonly reason: EnqueueFailureReason;
  readonly retriable: boolean;
  /** When a retry makes sense (Retry-After). */
  readonly retryAfterSeconds: number;

  constructor(
    reason: EnqueueFailureReason,
    message: string,
    retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EnqueueError';
    this.reason = reason;
    this.retriable = reason !== 'encode';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What travels with a command besides its payload. */
export interface CommandContext {
  /** The HTTP request id: the record's `correlation-id` header and the envelope's correlationId. */
  correlationId: string;
  /** The client's validated `traceparent`, continued by the producer span. */
  traceparent: string | undefined;
  nowMs: number;
}

/** A new reservation to enqueue. */
export interface RequestedCommand {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
  idempotencyKey: string | undefined;
}

/** A cancellation to enqueue. */
export interface CancellationCommand {
  reservationId: string;
  customerId: string;
  vehicleId: string;
}

// RFC 9562 name-based (v5) ids: a re-sent ReservationRequested (idempotent replay) carries the
// same commandId as the first one, so every deduplication downstream sees one command.
const commandNamespace = Buffer.from('6b1f0d0e2a7c4e5f9a3b8c1d2e3f4a5b', 'hex');

/** The deterministic command id of the ReservationRequested of `reservationId`. */
export function requestedCommandId(reservationId: string): string {
  const hash = createHash('sha1')
    .update(commandNamespace)
    .update(`ReservationRequested:${reservationId}`)
    .digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Puts reservation commands on the commands topic, keyed by vehicle id so each vehicle's
 * commands are settled in order. Every send goes through a circuit breaker (the runtime's opossum
 * helper) whose per-call timeout bounds how long a request waits for the broker; an open breaker
 * or a disconnected producer refuses at once, before anything is written to the database.
 */
export class ReservationCommandPublisher {
  private readonly producer: FleetProducer;
  private readonly settings: EnqueueSettings;
  private readonly logger: Logger;
  private readonly breaker: WorkerCircuitBreaker<
    [string, ReservationCommand, CommandContext],
    DeliveryReceipt
  >;
  private readonly failures: Counter<'reason'>;

  constructor(options: {
    producer: FleetProducer;
    settings: EnqueueSettings;
    registry: Registry;
    failures: Counter<'reason'>;
    logger: Logger;
  }) {
    this.producer = options.producer;
    this.settings = options.settings;
    this.logger = options.logger;
    this.failures = options.failures;
    this.breaker = createCircuitBreaker(
      'kafka-produce',
      (_signal, vehicleId: string, command: ReservationCommand, ctx: CommandContext) =>
        this.send(vehicleId, command, ctx),
      {
        timeoutMs: options.settings.produceTimeoutMs,
        resetTimeoutMs: options.settings.breakerResetMs,
        errorThresholdPercentage: options.settings.breakerErrorPercent,
        volumeThreshold: options.settings.breakerVolumeThreshold,
        registry: options.registry,
        logger: (level, message, fields) => this.logger[level](fields ?? {}, message),
      },
    );
  }

  /** Seconds a client should wait after a 503 (the breaker's open period). */
  get retryAfterSeconds(): number {
    return Math.ceil(this.settings.breakerResetMs / 1000);
  }

  /**
   * Why a command cannot be enqueued now — the breaker is open or the producer not connected —
   * counted as a failure; undefined when it can. Asked before any database write.
   */
  unavailability(): EnqueueError | undefined {
    if (this.breaker.state === 'open') {
      return this.failed(
        new EnqueueError('breaker_open', 'the kafka-produce circuit breaker is open', this.retryAfterSeconds),
      );
    }
    if (!this.producer.isConnected()) {
      return this.failed(
        new EnqueueError('not_connected', 'the producer is not connected to Kafka', this.retryAfterSeconds),
      );
    }
    return undefined;
  }

  /** Refuses at once (the `unavailability()`) when commands cannot be enqueued now. */
  private ensureAvailable(): void {
    const refusal = this.unavailability();
    if (refusal) throw refusal;
  }

  /** Whether commands can be enqueued now (readiness). */
  health(): { ok: boolean; reason?: string } {
    if (this.breaker.state === 'open') return { ok: false, reason: 'kafka-produce circuit breaker is open' };
    return this.producer.health();
  }

  /** Enqueues a ReservationRequested; resolves only after the broker acknowledged it. */
  publishRequested(command: RequestedCommand, ctx: CommandContext): Promise<DeliveryReceipt> {
    return this.publish(
      command.vehicleId,
      {
        commandId: requestedCommandId(command.reservationId),
        occurredAt: ctx.nowMs,
        correlationId: ctx.correlationId,
        payload: {
          'dev.fleetstream.reservation.ReservationRequested': {
            reservationId: command.reservationId,
            customerId: command.customerId,
            vehicleId: command.vehicleId,
            startsAt: command.startsAtMs,
            endsAt: command.endsAtMs,
            requestedAt: ctx.nowMs,
            idempotencyKey: command.idempotencyKey ?? null,
          },
        },
      },
      ctx,
    );
  }

  /** Enqueues a ReservationCancellationRequested on the reservation's vehicle key. */
  publishCancellation(command: CancellationCommand, ctx: CommandContext): Promise<DeliveryReceipt> {
    return this.publish(
      command.vehicleId,
      {
        commandId: randomUUID(),
        occurredAt: ctx.nowMs,
        correlationId: ctx.correlationId,
        payload: {
          'dev.fleetstream.reservation.ReservationCancellationRequested': {
            reservationId: command.reservationId,
            customerId: command.customerId,
            vehicleId: command.vehicleId,
            requestedAt: ctx.nowMs,
          },
        },
      },
      ctx,
    );
  }

  /** Stops the breaker's timers and removes its gauge series. */
  shutdown(): void {
    this.breaker.shutdown();
  }

  private async publish(
    vehicleId: string,
    command: ReservationCommand,
    ctx: CommandContext,
  ): Promise<DeliveryReceipt> {
    this.ensureAvailable();
    try {
      return await this.breaker.fire(vehicleId, command, ctx);
    } catch (error) {
      throw this.failed(this.classify(error));
    }
  }

  private send(
    vehicleId: string,
    command: ReservationCommand,
    ctx: CommandContext,
  ): Promise<DeliveryReceipt> {
    // The producer span (and the record's traceparent) continues the client's trace when it sent one.
    const parent =
      ctx.traceparent === undefined
        ? context.active()
        : extractTraceContext({ traceparent: ctx.traceparent });
    return context.with(parent, () =>
      this.producer.send(this.settings.topic, {
        key: vehicleId,
        value: command,
        correlationId: ctx.correlationId,
      }),
    );
  }

  private classify(error: unknown): EnqueueError {
    const retry = this.retryAfterSeconds;
    if (error instanceof EnqueueError) return error;
    if (error instanceof AvroEncodeError) {
      return new EnqueueError('encode', `the command does not match its schema: ${error.message}`, retry, {
        cause: error,
      });
    }
    if (error instanceof SchemaRegistryUnavailableError || error instanceof SubjectNotRegisteredError) {
      return new EnqueueError('registry', `the command could not be encoded: ${error.message}`, retry, {
        cause: error,
      });
    }
    if (error instanceof BreakerTimeoutError) {
      return new EnqueueError(
        'timeout',
        `no broker acknowledgement within ${this.settings.produceTimeoutMs} ms`,
        retry,
        {
          cause: error,
        },
      );
    }
    if (error instanceof DependencyUnavailableError && error.dependency === 'kafka-produce') {
      return new EnqueueError('breaker_open', error.message, retry, { cause: error });
    }
    return new EnqueueError(
      'broker',
      `the command was not acknowledged: ${(error as Error).message}`,
      retry,
      { cause: error },
    );
  }

  private failed(error: EnqueueError): EnqueueError {
    this.failures.inc({ reason: error.reason });
    return error;
  }
}
