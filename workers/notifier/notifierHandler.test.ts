import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyProviderApp } from '../../harness/notifyProvider/notifyProviderApp.ts';
import { DependencyUnavailableError } from '../runtime/errors/processingErrors.ts';
import { createLogger } from '../runtime/observability/logger.ts';
import { BreakerRegistry } from '../runtime/resilience/breakerRegistry.ts';
import { createNotifierHandler } from './notifierHandler.ts';
import { createNotifierMetrics } from './notifierMetrics.ts';
import { consumedDecision, decisionEvents } from './testing/decisionEvents.ts';

// The handler with its real breaker against the local provider over real HTTP.
const provider = createNotifyProviderApp({ token: 'secret' });
const breakers = new BreakerRegistry();
const never = new AbortController().signal;
let base: string;

beforeAll(async () => {
  await provider.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(provider.server.address() as { port: number }).port}/v1`;
});

afterAll(async () => {
  breakers.shutdown();
  await provider.close();
});

async function callCount(registry: Registry, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('fleet_notifier_provider_call_duration_seconds')?.get();
  const sample = metric?.values.find(
    (v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.outcome === outcome,
  );
  return sample?.value ?? 0;
}

describe('the notifier handler', () => {
  it('times only the calls that reached the provider, not those the open breaker refused', async () => {
    const registry = new Registry();
    const handler = createNotifierHandler({
      provider: { url: `${base}/messages`, token: 'secret', timeoutMs: 1_000 },
      breakers,
      registry,
      metrics: createNotifierMetrics(registry),
      logger: createLogger({ worker: 'notifier', level: 'silent' }),
    });
    const fault = await fetch(`${base}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 503, count: 1_000 }),
    });
    expect(fault.status).toBe(204);

    const failures: Error[] = [];
    for (let i = 0; i < 30; i += 1) {
      await handler(consumedDecision(decisionEvents.confirmed('hana')), { signal: never }).catch(
        (error: Error) => failures.push(error),
      );
    }
    expect(failures).toHaveLength(30);
    expect(failures.every((f) => f instanceof DependencyUnavailableError)).toBe(true);
    const refused = failures.filter((f) => /circuit breaker provider is open/.test(f.message));
    expect(refused.length).toBeGreaterThan(0);
    expect(await callCount(registry, 'unavailable')).toBe(failures.length - refused.length);
  });
});
