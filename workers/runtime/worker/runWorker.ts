import type { Type as AvroType } from 'avsc';
import type { Registry } from 'prom-client';
import { AvroSerde } from '../avro/avroSerde.ts';
import { avroValueDecoder } from '../avro/avroValueDecoder.ts';
import { checkRegistryAtStart } from '../avro/registryStartupCheck.ts';
import { SchemaRegistryClient } from '../avro/schemaRegistryClient.ts';
import { readSchemaRegistryConfig } from '../avro/schemaRegistryConfig.ts';
import { EnvReader } from '../config/envReader.ts';
import { readStackEndpoints, type StackEndpoints } from '../config/stackEndpoints.ts';
import type { MessageHandler, ValueDecoder } from '../consumer/consumedMessage.ts';
import { ConsumerEngine } from '../consumer/consumerEngine.ts';
import { type ConsumerOptions, readConsumerOptions } from '../consumer/consumerOptions.ts';
import { brokerPartitionCounts, KafkaDeadLetterPublisher } from '../deadletter/kafkaDeadLetterPublisher.ts';
import { consumerClientConfig, readKafkaClientSettings } from '../kafka/clientConfig.ts';
import { consumerMetricsObserver, PartitionGaugeReporter } from '../observability/consumerMetricsObserver.ts';
import { HealthServer, readHealthServerSettings } from '../observability/healthServer.ts';
import { createLogger, type Logger, readLogLevel } from '../observability/logger.ts';
import {
  createConsumerMetrics,
  createMetricsRegistry,
  createProducerMetrics,
} from '../observability/metrics.ts';
import { withConsumerSpan } from '../observability/tracing.ts';
import { FleetProducer } from '../producer/fleetProducer.ts';
import { readProducerSettings } from '../producer/producerSettings.ts';
import { BreakerRegistry } from '../resilience/breakerRegistry.ts';
import { DeadLetterCaps } from '../resilience/deadLetterCaps.ts';
import { readDeadLetterCapsConfig } from '../resilience/deadLetterCapsConfig.ts';
import { resilienceLoggerFor } from '../resilience/resilienceLogger.ts';
import { CleanupStack } from './cleanupStack.ts';

/** What a worker gets to build its handler with. */
export interface WorkerResources {
  logger: Logger;
  registry: Registry;
  /** The process's producer (idempotent, Avro through the registry). */
  producer: FleetProducer;
  serde: AvroSerde;
  /** Register the worker's circuit breakers here; the engine pauses on the ones in `dependsOn`. */
  breakers: BreakerRegistry;
  endpoints: StackEndpoints;
  /** The process environment, for the worker's own settings (validated together with the runtime's). */
  env: EnvReader;
  /** The consumer options in force (the module's defaults under the environment), e.g. to size a pool. */
  consumer: Readonly<ConsumerOptions>;
}

/** What a worker folder exports: the runtime does the rest. */
export interface WorkerModule<V = unknown> {
  /** Worker name: logs, metrics, DLQ headers, client ids. */
  name: string;
  /** Consumer group id. */
  groupId: string;
  /** Topics the worker consumes. */
  topics: readonly string[];
  /** Port of /metrics, /healthz, /readyz unless METRICS_PORT says otherwise. */
  defaultMetricsPort: number;
  /** Breakers whose opening pauses the worker's partitions. */
  dependsOn?: readonly string[];
  /** Defaults of the worker's consumer options (environment variables still override them). */
  consumerDefaults?: Partial<ConsumerOptions>;
  /** Reader schemas per value subject, so handlers see their own TypeScript types. */
  readerTypes?: ReadonlyMap<string, AvroType>;
  /** Value decoder; default Avro through the registry. */
  decoder?: ValueDecoder<V>;
  /** Builds the handler; `close` releases what it opened (pools, clients). */
  createHandler(
    resources: WorkerResources,
  ): Promise<{ handler: MessageHandler<V>; close?: () => Promise<void> }>;
}

/** A started worker process. */
export interface RunningWorker<V = unknown> {
  engine: ConsumerEngine<V>;
  healthPort: number;
  logger: Logger;
  registry: Registry;
  caps: DeadLetterCaps;
  /** Stops taking new messages and waits for in-flight ones (resolves false on timeout). */
  drain(timeoutMs: number): Promise<boolean>;
  /** Closes everything in reverse order of opening; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a worker on the shared runtime: one validated config, one metrics registry, a
 * logger, the producer, the DLQ publisher and caps, breakers, the consumer engine and the
 * health server. Every resource opened is closed by `stop()`, in reverse order.
 */
export async function startWorker<V>(
  module: WorkerModule<V>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningWorker<V>> {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  const consumerOptions = readConsumerOptions(reader, module.consumerDefaults);
  const clientSettings = readKafkaClientSettings(reader, endpoints, module.name);
  const producerSettings = readProducerSettings(reader);
  const capsConfig = readDeadLetterCapsConfig(reader);
  const healthSettings = readHealthServerSettings(reader, module.defaultMetricsPort);
  const registryConfig = readSchemaRegistryConfig(reader, endpoints);
  const drainTimeoutMs = reader.int('WORKER_DRAIN_TIMEOUT_MS', 20_000, { min: 0 });
  const level = readLogLevel(reader);
  const logger = createLogger({ worker: module.name, level });
  const registry = createMetricsRegistry({ worker: module.name });
  // Consumer metrics first: the caps and breakers reuse gauges registered under the same names.
  const consumerMetrics = createConsumerMetrics(registry);
  const cleanups = new CleanupStack((error) => logger.error({ err: error.message }, 'cleanup step failed'));

  try {
    const registryClient = new SchemaRegistryClient(registryConfig);
    cleanups.push(() => registryClient.close());
    await checkRegistryAtStart(registryClient, logger);
    const serde = new AvroSerde({
      source: registryClient,
      ...(module.readerTypes ? { readerTypes: module.readerTypes } : {}),
    });
    const producer = new FleetProducer({
      client: clientSettings,
      settings: producerSettings,
      encoder: (topic, value) => serde.encode(`${topic}-value` as never, value as never),
      metrics: createProducerMetrics(registry),
      logger,
    });
    await producer.start();
    cleanups.push(() => producer.stop());

    const caps = new DeadLetterCaps(
      { worker: module.name, ...capsConfig },
      {
        registry,
        redisUrl: endpoints.redisUrl,
        logger: resilienceLoggerFor(logger),
      },
    );
    await caps.start();
    cleanups.push(() => caps.stop());
    const breakers = new BreakerRegistry();
    cleanups.push(() => breakers.shutdown());

    const { handler, close } = await module.createHandler({
      logger,
      registry,
      producer,
      serde: serde as AvroSerde,
      breakers,
      endpoints,
      env: reader,
      consumer: consumerOptions,
    });
    reader.done();
    if (close) cleanups.push(close);

    const partitionCounts = brokerPartitionCounts(endpoints.kafkaBootstrap);
    cleanups.push(() => partitionCounts.close());
    const engine = new ConsumerEngine<V>(
      {
        name: module.name,
        groupId: module.groupId,
        topics: [...module.topics],
        handler,
        decoder: module.decoder ?? (avroValueDecoder(serde) as ValueDecoder<V>),
        ...(module.dependsOn ? { dependsOn: module.dependsOn } : {}),
      },
      {
        bootstrapServers: endpoints.kafkaBootstrap,
        options: consumerOptions,
        kafkaConfig: consumerClientConfig(clientSettings, module.groupId) as Record<
          string,
          string | number | boolean
        >,
        deadLetters: new KafkaDeadLetterPublisher(producer, partitionCounts.lookup),
        dlqGate: caps,
        breakers,
        observer: consumerMetricsObserver(consumerMetrics),
        logger,
        instrument: (message, run) => withConsumerSpan(message, run, module.groupId),
      },
    );
    await engine.start();
    cleanups.push(() => engine.stop());

    const gauges = new PartitionGaugeReporter(consumerMetrics);
    const health = new HealthServer({
      ...healthSettings,
      registry,
      logger,
      beforeMetrics: () => gauges.report(engine.snapshot()),
    });
    health.addLivenessCheck('consumer', () => engine.liveness());
    // A fatally failed producer fails every send, dead letters included: only a restart helps.
    health.addLivenessCheck('producer', producer.liveness);
    health.addReadinessCheck('consumer', () => engine.readiness());
    health.addReadinessCheck('producer', producer.health);
    const healthPort = await health.start();
    cleanups.push(() => health.stop());
    logger.info(
      { topics: module.topics, group: module.groupId, healthPort, drainTimeoutMs },
      'worker started',
    );

    let stopping: Promise<void> | undefined;
    return {
      engine,
      healthPort,
      logger,
      registry,
      caps,
      drain: (timeoutMs) => engine.drain(timeoutMs),
      stop: () => {
        stopping ??= cleanups.closeAll().then(() => logger.info({}, 'worker stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.closeAll();
    throw error;
  }
}
