import { containerStackServices, dockerEngineReachable } from './containerStack.ts';
import { ensureKafkaDistribution } from './distributions.ts';
import { withMachineLock } from './machineLock.ts';
import { nativeStackServices } from './nativeStack.ts';
import { type StackConfig, stackPaths } from './stackConfig.ts';
import type { ServiceStatus, StackService } from './stackService.ts';

/** Which provider runs the stack: `native` here; `containers` when STACK_PROVIDER says so or `auto` finds a Docker engine. */
export async function resolveProvider(config: StackConfig): Promise<'native' | 'containers'> {
  if (config.provider !== 'auto') return config.provider;
  return (await dockerEngineReachable()) ? 'containers' : 'native';
}

/** The local stack: Kafka, the schema registry, PostgreSQL and Redis. */
export class LocalStack {
  readonly provider: 'native' | 'containers';
  readonly services: readonly StackService[];

  private readonly prepareTools: () => Promise<void>;
  private readonly log: (line: string) => void;

  private constructor(
    provider: 'native' | 'containers',
    services: readonly StackService[],
    prepareTools: () => Promise<void>,
    log: (line: string) => void,
  ) {
    this.provider = provider;
    this.services = services;
    this.prepareTools = prepareTools;
    this.log = log;
  }

  private static toolsFor(config: StackConfig, log: (line: string) => void): () => Promise<void> {
    return async () => {
      await ensureKafkaDistribution(stackPaths(config.stackDir).dist, config.kafkaVersion, log);
    };
  }

  static async create(
    config: StackConfig,
    log: (line: string) => void = () => undefined,
  ): Promise<LocalStack> {
    const provider = await resolveProvider(config);
    const services =
      provider === 'containers' ? containerStackServices(config) : nativeStackServices(config, log);
    // The topic tool reads configs through Kafka's Java Admin client, whose jars come with the
    // broker's distribution: fetch them even when a broker started elsewhere already answers.
    const tools = LocalStack.toolsFor(config, log);
    return new LocalStack(provider, services, tools, log);
  }

  /**
   * Brings every service up and waits for real health. The data stores are checked first,
   * then the two JVMs start side by side. Returns what happened to each service.
   * When `signal` aborts (Ctrl-C under `npm start`), it starts nothing more, stops every service
   * this call started and rejects with the signal's reason: an interrupted start leaves nothing.
   */
  async up(signal?: AbortSignal): Promise<Map<string, 'started' | 'already-running' | 'external'>> {
    // One `up` per machine at a time: checkouts share the ports, and two concurrent ups both saw
    // 9092 free and both spawned a broker. The second now waits and finds the first's services.
    return withMachineLock('fleetstream-stack-up', () => this.upUnlocked(signal), {
      onWait: (pid) => this.log(`stack: another stack up (pid ${pid}) is running; waiting for it`),
      ...(signal ? { signal } : {}),
    });
  }

  private async upUnlocked(
    signal: AbortSignal | undefined,
  ): Promise<Map<string, 'started' | 'already-running' | 'external'>> {
    await this.prepareTools();
    const outcomes = new Map<string, 'started' | 'already-running' | 'external'>();
    const dataStores = this.services.filter((s) => s.name === 'postgres' || s.name === 'redis');
    const others = this.services.filter((s) => !dataStores.includes(s));
    for (const group of [dataStores, others]) {
      if (!signal?.aborted) {
        const results = await Promise.allSettled(
          group.map(async (s) => [s.name, await s.up(signal)] as const),
        );
        for (const r of results) if (r.status === 'fulfilled') outcomes.set(r.value[0], r.value[1]);
        if (!signal?.aborted) throwFailures(results);
      }
      if (signal?.aborted) {
        const started = [...outcomes].filter(([, o]) => o === 'started').map(([name]) => name);
        await this.down(new Set(started));
        signal.throwIfAborted();
      }
    }
    return outcomes;
  }

  /** Stops, in reverse order, every service this stack started; returns the names stopped. */
  async down(only?: ReadonlySet<string>): Promise<string[]> {
    const stopped: string[] = [];
    for (const service of [...this.services].reverse()) {
      if (only && !only.has(service.name)) continue;
      if (await service.down()) stopped.push(service.name);
    }
    return stopped;
  }

  async status(): Promise<ServiceStatus[]> {
    return Promise.all(this.services.map((s) => s.status()));
  }
}

/** Rejects with every failure of a group's start, in one error. */
function throwFailures(results: readonly PromiseSettledResult<unknown>[]): void {
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0)
    throw new AggregateError(
      failures.map((f) => f.reason),
      failures.map((f) => (f.reason as Error).message).join('; '),
    );
}
