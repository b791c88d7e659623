import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DeliveryReport,
  type LibrdKafkaError,
  type MessageHeader,
  RdKafka,
} from '@confluentinc/kafka-javascript';
import { type KafkaClientSettings, producerClientConfig } from '../kafka/clientConfig.ts';
import {
  KafkaClientError,
  KafkaConnectError,
  librdkafkaCodes,
  toKafkaClientError,
} from '../kafka/librdkafkaErrors.ts';
import type { CheckResult } from '../observability/healthServer.ts';
import type { Logger } from '../observability/logger.ts';
import type { ProducerMetrics } from '../observability/metrics.ts';
import {
  injectTraceHeaders,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  withProducerSpan,
} from '../observability/tracing.ts';
import type { HeaderList } from '../resilience/deadLetterRecord.ts';
import { ProduceError } from './produceError.ts';
import type { ProducerSettings } from './producerSettings.ts';

/** Encodes a value for a topic (Avro in the Confluent wire format, in production). */
export type ValueEncoder = (topic: string, value: unknown) => Promise<Buffer>;

/** One record to send. */
export interface SendRecord<V> {
  /** Partitioning key (vehicle id, rental id); null/undefined spreads records over partitions. */
  key?: string | Buffer | null;
  value: V;
  /**
   * Extra headers. `traceparent`/`tracestate` are always replaced by the active trace context.
   * An ordered list (a name may repeat) is taken only with `verbatimHeaders`.
   */
  headers?: Readonly<Record<string, string | Buffer>> | HeaderList;
  /** Fixed partition; default: the partitioner (murmur2 of the key, like the Java client). */
  partition?: number;
  /** Record timestamp in ms since epoch; default: now. */
  timestamp?: number;
  /** Correlation id; default: the `correlation-id` header, else a new UUID. */
  correlationId?: string;
  /**
   * Send `headers` exactly as given, bytes and all: no trace context injected, no correlation id
   * added or rewritten. For records that carry another record's headers (dead letters, replays).
   */
  verbatimHeaders?: boolean;
}

function isHeaderList(headers: SendRecord<unknown>['headers']): headers is HeaderList {
  return Array.isArray(headers);
}

/** Where the broker stored a record. */
export interface DeliveryReceipt {
  topic: string;
  partition: number;
  offset: number;
}

export const CORRELATION_ID_HEADER = 'correlation-id';

export interface FleetProducerOptions {
  client: KafkaClientSettings;
  settings: ProducerSettings;
  /** Required for `send`; `sendRaw` takes bytes. */
  encoder?: ValueEncoder;
  metrics?: ProducerMetrics;
  logger?: Logger;
}

/** A record between `send` and its delivery report; it is also the `opaque` librdkafka hands back. */
interface PendingDelivery {
  topic: string;
  partition: number;
  value: Buffer | null;
  key: string | Buffer | null;
  timestamp: number | null;
  headers: MessageHeader[];
  /** performance.now() at send, for the delivery-duration histogram. */
  startedAt: number;
  /** Past this (performance.now()), a record still waiting for queue room fails. */
  deadline: number;
  resolve: (receipt: DeliveryReceipt) => void;
  reject: (error: Error) => void;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** While every broker is down, how often reachability is re-probed so readiness can recover with no traffic. */
const brokerProbeIntervalMs = 2000;
/** While librdkafka's queue is full, how often room is re-checked besides on each delivery report. */
const overflowRetryMs = 5;

/**
 * The fleet's one Kafka producer (workers and the HTTP ingress): idempotent (acks=all),
 * small linger, lz4, and a send that resolves only when the broker acknowledged the record —
 * or rejects with a typed ProduceError within the message timeout, never hangs.
 * Delivery reports are matched to sends through librdkafka's per-record `opaque`.
 */
export class FleetProducer {
  private readonly options: FleetProducerOptions;
  private producer: RdKafka.Producer | undefined;
  private state: State = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Handed to librdkafka, waiting for a delivery report. */
  private readonly inFlight = new Set<PendingDelivery>();
  /** Refused by a full local queue, waiting in call order for room. */
  private readonly overflow: PendingDelivery[] = [];
  private overflowTimer: NodeJS.Timeout | undefined;
  private brokerProbeTimer: NodeJS.Timeout | undefined;
  private allBrokersDown = false;
  private fatalError: KafkaClientError | undefined;

  constructor(options: FleetProducerOptions) {
    this.options = options;
  }

  /** Connects (fetches cluster metadata) within `connectTimeoutMs`; rejects with KafkaConnectError. */
  start(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(this.notRunningError('producer was stopped; create a new one'));
    }
    this.starting ??= this.connect();
    return this.starting;
  }

  private async connect(): Promise<void> {
    this.state = 'starting';
    const { client, settings } = this.options;
    const producer = new RdKafka.Producer(producerClientConfig(client, settings));
    producer.on('delivery-report', (error, report) => this.onDeliveryReport(error, report));
    producer.on('event.error', (error) => this.onClientError(error));
    producer.on('event.log', (event: { severity: number; fac: string; message: string }) =>
      this.onClientLog(event),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        producer.connect({ timeout: settings.connectTimeoutMs, allTopics: false }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    } catch (error) {
      // The client already tore its native handle down; a later start() may try again.
      this.state = 'new';
      this.starting = undefined;
      producer.removeAllListeners();
      throw toKafkaClientError(
        error,
        `could not connect to Kafka at ${client.bootstrapServers} within ${settings.connectTimeoutMs} ms`,
        KafkaConnectError,
      );
    }
    // Delivery reports are served on librdkafka's background thread: no JS timer, no event-loop cost.
    producer.setPollInBackground(true);
    this.producer = producer;
    if (this.stopping) {
      // stop() was called while connecting: it is waiting for us to finish and will disconnect.
      return;
    }
    this.state = 'running';
    this.options.logger?.info(
      { bootstrap: client.bootstrapServers, clientId: client.clientId },
      'kafka producer connected',
    );
  }

  /** Whether start() succeeded and stop() has not been called. */
  isConnected(): boolean {
    return this.state === 'running' && (this.producer?.isConnected() ?? false);
  }

  /** Readiness: connected, not fatally failed, and at least one broker reachable. */
  readonly health = (): CheckResult => {
    if (this.fatalError)
      return { ok: false, reason: `kafka producer failed fatally (${this.fatalError.code})` };
    if (!this.isConnected()) return { ok: false, reason: 'kafka producer is not connected' };
    if (this.allBrokersDown) return { ok: false, reason: 'kafka producer: all brokers are down' };
    return { ok: true };
  };

  /**
   * Liveness: false once the client failed fatally (librdkafka: the instance can never produce
   * again, e.g. an idempotence sequence it cannot repair); only a new process recovers.
   */
  readonly liveness = (): CheckResult =>
    this.fatalError
      ? { ok: false, reason: `kafka producer failed fatally (${this.fatalError.code}); restart the process` }
      : { ok: true };

  /** Records handed to librdkafka or waiting for queue room, not yet acknowledged. */
  get pendingDeliveries(): number {
    return this.inFlight.size + this.overflow.length;
  }

  /** Records refused by librdkafka's full local queue and waiting for room (backpressure signal). */
  get waitingForQueueRoom(): number {
    return this.overflow.length;
  }

  /** Encodes `record.value` with the injected encoder, then sends like `sendRaw`. */
  send<V>(topic: string, record: SendRecord<V>): Promise<DeliveryReceipt> {
    if (this.state !== 'running') {
      return Promise.reject(this.notRunningError(`cannot send to ${topic}: producer is not running`));
    }
    return withProducerSpan(topic, async (span) => {
      const encoder = this.options.encoder;
      if (!encoder) {
        throw new ProduceError(`no value encoder configured; cannot send an object to ${topic}`, {
          code: RdKafka.CODES.ERRORS.ERR__INVALID_ARG,
          retriable: false,
        });
      }
      let value: Buffer;
      try {
        value = await encoder(topic, record.value);
      } catch (error) {
        this.options.metrics?.sendErrors.inc({ topic, code: 'ENCODE_FAILED' });
        throw error;
      }
      const receipt = await this.enqueue(topic, record, value);
      span.setAttribute('messaging.destination.partition.id', String(receipt.partition));
      return receipt;
    });
  }

  /** Sends bytes as they are (null value: a tombstone). */
  sendRaw(topic: string, record: SendRecord<Buffer | null>): Promise<DeliveryReceipt> {
    return withProducerSpan(topic, async (span) => {
      const receipt = await this.enqueue(topic, record, record.value);
      span.setAttribute('messaging.destination.partition.id', String(receipt.partition));
      return receipt;
    });
  }

  private enqueue(
    topic: string,
    record: SendRecord<unknown>,
    value: Buffer | null,
  ): Promise<DeliveryReceipt> {
    if (this.state !== 'running' || !this.producer) {
      return Promise.reject(this.notRunningError(`cannot send to ${topic}: producer is not running`));
    }
    if (this.fatalError) {
      this.options.metrics?.sendErrors.inc({ topic, code: this.fatalError.code });
      return Promise.reject(this.fatalError);
    }
    const headers = this.buildHeaders(record);
    const startedAt = performance.now();
    return new Promise<DeliveryReceipt>((resolve, reject) => {
      const pending: PendingDelivery = {
        topic,
        partition: record.partition ?? -1,
        value,
        key: record.key ?? null,
        timestamp: record.timestamp ?? null,
        headers,
        startedAt,
        deadline: startedAt + this.options.settings.messageTimeoutMs,
        resolve,
        reject,
      };
      // Behind earlier records that are waiting for room, to keep call order.
      if (this.overflow.length > 0 || !this.tryProduce(pending)) {
        this.overflow.push(pending);
        this.scheduleOverflowRetry();
      }
    });
  }

  /** Correlation id and trace context first-class; caller headers kept otherwise. */
  private buildHeaders(record: SendRecord<unknown>): MessageHeader[] {
    const listed = isHeaderList(record.headers) ? record.headers : Object.entries(record.headers ?? {});
    if (record.verbatimHeaders) return listed.map(([name, value]) => ({ [name]: value }));
    const headers: Record<string, string | Buffer> = Object.fromEntries(listed);
    delete headers[TRACEPARENT_HEADER];
    delete headers[TRACESTATE_HEADER];
    const given = headers[CORRELATION_ID_HEADER];
    headers[CORRELATION_ID_HEADER] =
      record.correlationId ?? (given === undefined || given.length === 0 ? randomUUID() : given.toString());
    injectTraceHeaders(headers);
    return Object.entries(headers).map(([name, value]) => ({ [name]: value }));
  }

  /**
   * Hands a record to librdkafka. Returns false when its queue is full (the caller keeps the
   * record and retries); any other refusal rejects the record and returns true.
   */
  private tryProduce(pending: PendingDelivery): boolean {
    const producer = this.producer;
    if (!producer) {
      this.fail(pending, this.notRunningError(`cannot send to ${pending.topic}: producer is not running`));
      return true;
    }
    try {
      producer.produce(
        pending.topic,
        pending.partition,
        pending.value,
        pending.key,
        pending.timestamp,
        pending,
        pending.headers,
      );
      this.inFlight.add(pending);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === librdkafkaCodes.QUEUE_FULL) return false;
      this.fail(pending, toKafkaClientError(error, `could not send to ${pending.topic}`, ProduceError));
      return true;
    }
  }

  /** Moves waiting records into librdkafka while it has room; expires those past their deadline. */
  private drainOverflow(): void {
    while (this.overflow.length > 0) {
      const head = this.overflow[0] as PendingDelivery;
      if (performance.now() > head.deadline) {
        this.overflow.shift();
        this.fail(
          head,
          new ProduceError(
            `could not send to ${head.topic}: the local producer queue stayed full for ${this.options.settings.messageTimeoutMs} ms`,
            { code: librdkafkaCodes.QUEUE_FULL, retriable: true },
          ),
        );
        continue;
      }
      if (!this.tryProduce(head)) break;
      this.overflow.shift();
    }
    if (this.overflow.length > 0) this.scheduleOverflowRetry();
  }

  private scheduleOverflowRetry(): void {
    if (this.overflowTimer) return;
    this.overflowTimer = setTimeout(() => {
      this.overflowTimer = undefined;
      this.drainOverflow();
    }, overflowRetryMs);
  }

  private onDeliveryReport(error: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const pending = report.opaque as PendingDelivery | undefined;
    // Unknown or already settled (failed by stop()): nothing waits for it any more.
    if (!pending || !this.inFlight.delete(pending)) return;
    const metrics = this.options.metrics;
    if (error) {
      const failure = toKafkaClientError(
        error,
        `could not deliver a record to ${pending.topic}`,
        ProduceError,
      );
      metrics?.sendErrors.inc({ topic: pending.topic, code: failure.code });
      pending.reject(failure);
    } else {
      this.markBrokersReachable();
      metrics?.messagesSent.inc({ topic: pending.topic });
      metrics?.deliveryDuration.observe(
        { topic: pending.topic },
        (performance.now() - pending.startedAt) / 1000,
      );
      pending.resolve({ topic: report.topic, partition: report.partition, offset: report.offset });
    }
    if (this.overflow.length > 0) this.drainOverflow();
  }

  private fail(pending: PendingDelivery, error: KafkaClientError): void {
    this.options.metrics?.sendErrors.inc({ topic: pending.topic, code: error.code });
    pending.reject(error);
  }

  private onClientError(error: LibrdKafkaError): void {
    const typed = toKafkaClientError(error, 'kafka producer error', ProduceError);
    if (typed.fatal) {
      this.fatalError ??= typed;
      this.options.logger?.error({ code: typed.code, err: typed }, 'kafka producer failed fatally');
      return;
    }
    if (error.code === librdkafkaCodes.ALL_BROKERS_DOWN) {
      this.allBrokersDown = true;
      this.scheduleBrokerProbe();
    }
    this.options.logger?.warn({ code: typed.code, detail: error.message }, 'kafka producer client error');
  }

  private onClientLog(event: { severity: number; fac: string; message: string }): void {
    const logger = this.options.logger;
    if (!logger) return;
    const fields = { facility: event.fac, detail: event.message };
    if (event.severity <= 3) logger.error(fields, 'librdkafka log');
    else if (event.severity === 4) logger.warn(fields, 'librdkafka log');
    else if (event.severity <= 6) logger.info(fields, 'librdkafka log');
    else logger.debug(fields, 'librdkafka log');
  }

  private markBrokersReachable(): void {
    if (!this.allBrokersDown) return;
    this.allBrokersDown = false;
    clearTimeout(this.brokerProbeTimer);
    this.brokerProbeTimer = undefined;
    this.options.logger?.info('kafka producer reaches the brokers again');
  }

  /** Without traffic no delivery report would ever say the brokers are back: ask for metadata. */
  private scheduleBrokerProbe(): void {
    if (this.brokerProbeTimer || this.state !== 'running') return;
    this.brokerProbeTimer = setTimeout(() => {
      this.brokerProbeTimer = undefined;
      const producer = this.producer;
      if (!this.allBrokersDown || this.state !== 'running' || !producer) return;
      producer.getMetadata({ allTopics: false, timeout: brokerProbeIntervalMs }, (error) => {
        if (!error) this.markBrokersReachable();
        else this.scheduleBrokerProbe();
      });
    }, brokerProbeIntervalMs);
  }

  /**
   * Waits until every record handed over so far is acknowledged or failed — its promise settled —
   * at most `timeoutMs`. Rejects with a retriable KafkaClientError (ERR__TIMED_OUT) when time runs out.
   */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    // Records waiting for queue room are part of "everything sent so far".
    while (this.overflow.length > 0 && performance.now() < deadline) {
      await this.flushClient(Math.min(50, Math.max(1, deadline - performance.now())), true);
      this.drainOverflow();
    }
    await this.flushClient(Math.max(0, Math.round(deadline - performance.now())), false);
    // librdkafka's flush ends when the broker acknowledged; the client hands the delivery reports
    // to JavaScript 100 per event-loop turn afterwards. Until they arrive the records are still
    // in flight here, and a stop() that gave up on them would fail records the broker holds.
    let before = Number.POSITIVE_INFINITY;
    while (this.inFlight.size > 0 && this.producer?.isConnected() && performance.now() < deadline) {
      // Next turn while reports keep coming; a short sleep when none came (no busy spin).
      const progressed = this.inFlight.size < before;
      before = this.inFlight.size;
      await (progressed ? new Promise<void>((resolve) => setImmediate(resolve)) : sleep(5));
    }
    if (this.pendingDeliveries > 0) {
      throw new KafkaClientError(`flush timed out after ${timeoutMs} ms`, {
        code: librdkafkaCodes.TIMED_OUT,
        retriable: true,
      });
    }
  }

  private flushClient(timeoutMs: number, ignoreTimeout: boolean): Promise<void> {
    const producer = this.producer;
    if (!producer?.isConnected()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      producer.flush(timeoutMs, (error) => {
        if (!error || ignoreTimeout) resolve();
        else
          reject(toKafkaClientError(error, `flush did not finish within ${timeoutMs} ms`, KafkaClientError));
      });
    });
  }

  /**
   * Flushes (at most `timeoutMs`, default the message timeout), then disconnects. Records still
   * unacknowledged are rejected with a retriable ProduceError (ERR__DESTROY). Idempotent.
   */
  stop(timeoutMs = this.options.settings.messageTimeoutMs): Promise<void> {
    this.stopping ??= this.shutdown(timeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    this.state = 'stopping';
    clearTimeout(this.brokerProbeTimer);
    this.brokerProbeTimer = undefined;
    const producer = this.producer;
    if (producer) {
      try {
        await this.flush(timeoutMs);
      } catch (error) {
        this.options.logger?.warn(
          { err: error, pending: this.pendingDeliveries },
          'kafka producer flush incomplete at stop',
        );
      }
      await new Promise<void>((resolve) => {
        // Flushed already; the client's own pre-disconnect flush returns at once.
        if (producer.isConnected()) producer.disconnect(0, () => resolve());
        else resolve();
      });
      producer.removeAllListeners();
    }
    clearTimeout(this.overflowTimer);
    this.overflowTimer = undefined;
    const abandoned = [...this.overflow, ...this.inFlight];
    this.overflow.length = 0;
    this.inFlight.clear();
    for (const pending of abandoned) {
      this.fail(
        pending,
        new ProduceError(`producer stopped before ${pending.topic} acknowledged the record`, {
          code: librdkafkaCodes.DESTROY,
          retriable: true,
        }),
      );
    }
    this.producer = undefined;
    this.state = 'stopped';
    this.options.logger?.info({ abandoned: abandoned.length }, 'kafka producer stopped');
  }

  private notRunningError(message: string): ProduceError {
    return new ProduceError(message, { code: librdkafkaCodes.STATE, retriable: false });
  }
}
