import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, PermanentError, RetriableError } from '../errors/processingErrors.ts';
import { BreakerRegistry } from './breakerRegistry.ts';
import {
  type BreakerState,
  BreakerTimeoutError,
  type CircuitBreakerOptions,
  createCircuitBreaker,
  type WorkerCircuitBreaker,
} from './circuitBreaker.ts';
import { metricValue } from './testSupport.ts';

const created: { shutdown(): void }[] = [];
afterEach(() => {
  for (const breaker of created.splice(0)) breaker.shutdown();
});

/** A breaker whose action does whatever the test's `behaviour` says, with small windows. */
function breakerWith(
  behaviour: { next: (signal: AbortSignal) => Promise<string> },
  options: CircuitBreakerOptions = {},
  name = 'pricing-api',
): WorkerCircuitBreaker<[], string> & { calls: () => number } {
  let calls = 0;
  const breaker = createCircuitBreaker<[], string>(
    name,
    (signal) => {
      calls += 1;
      return behaviour.next(signal);
    },
    { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 10, timeoutMs: 1_000, ...options },
  );
  created.push(breaker);
  return Object.assign(breaker, { calls: () => calls });
}

function nextState(breaker: WorkerCircuitBreaker<[], string>, wanted: BreakerState): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = breaker.onStateChange((state) => {
      if (state === wanted) {
        unsubscribe();
        resolve();
      }
    });
  });
}

describe('createCircuitBreaker', () => {
  it('passes results through while closed', async () => {
    const breaker = breakerWith({ next: async () => 'ok' });
    await expect(breaker.fire()).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('does not count a PermanentError (the downstream answered) as a failure', async () => {
    const breaker = breakerWith({
      next: async () => Promise.reject(new PermanentError('404 vehicle unknown')),
    });
    for (let i = 0; i < 10; i += 1) await expect(breaker.fire()).rejects.toBeInstanceOf(PermanentError);
    expect(breaker.state).toBe('closed');
    expect(breaker.calls()).toBe(10);
  });

  it('opens on retriable failures, then refuses with DependencyUnavailableError without calling', async () => {
    const breaker = breakerWith({ next: async () => Promise.reject(new RetriableError('503')) });
    await expect(breaker.fire()).rejects.toBeInstanceOf(RetriableError);
    await expect(breaker.fire()).rejects.toBeInstanceOf(RetriableError);
    expect(breaker.state).toBe('open');

    const refusal = await breaker.fire().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DependencyUnavailableError);
    expect((refusal as DependencyUnavailableError).dependency).toBe('pricing-api');
    expect(breaker.calls()).toBe(2);
  });

  it('counts unknown errors as failures', async () => {
    const breaker = breakerWith({ next: async () => Promise.reject(new Error('ECONNRESET')) });
    await expect(breaker.fire()).rejects.toThrow('ECONNRESET');
    await expect(breaker.fire()).rejects.toThrow('ECONNRESET');
    expect(breaker.state).toBe('open');
  });

  it('lets a custom isFailure decide', async () => {
    const breaker = breakerWith(
      { next: async () => Promise.reject(new RetriableError('429')) },
      { isFailure: (error) => !(error instanceof RetriableError && error.message === '429') },
    );
    for (let i = 0; i < 5; i += 1) await expect(breaker.fire()).rejects.toThrow('429');
    expect(breaker.state).toBe('closed');
  });

  it('goes closed → open → half-open → closed, and the listener sees each change', async () => {
    const behaviour = { next: async (): Promise<string> => Promise.reject(new RetriableError('down')) };
    const breaker = breakerWith(behaviour);
    const seen: string[] = [];
    breaker.onStateChange((state, previous) => seen.push(`${previous}->${state}`));

    const halfOpen = nextState(breaker, 'half-open');
    await breaker.fire().catch(() => {});
    await breaker.fire().catch(() => {});
    await halfOpen;
    expect(breaker.state).toBe('half-open');

    behaviour.next = async () => 'recovered';
    await expect(breaker.fire()).resolves.toBe('recovered');
    expect(breaker.state).toBe('closed');
    expect(seen).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('reopens when the half-open probe fails, and refuses other calls while the probe is in flight', async () => {
    let failProbe: (error: Error) => void = () => {};
    const behaviour = { next: async (): Promise<string> => Promise.reject(new RetriableError('down')) };
    const breaker = breakerWith(behaviour);
    const halfOpen = nextState(breaker, 'half-open');
    await breaker.fire().catch(() => {});
    await breaker.fire().catch(() => {});
    await halfOpen;

    behaviour.next = () => new Promise<string>((_, reject) => (failProbe = reject));
    const probe = breaker.fire();
    await expect(breaker.fire()).rejects.toBeInstanceOf(DependencyUnavailableError);
    failProbe(new RetriableError('still down'));
    await expect(probe).rejects.toThrow('still down');
    expect(breaker.state).toBe('open');
  });

  it('times a call out, aborts its signal and counts it as a failure', async () => {
    let seenSignal: AbortSignal | undefined;
    const breaker = breakerWith(
      {
        next: (signal) => {
          seenSignal = signal;
          return new Promise<string>(() => {});
        },
      },
      { timeoutMs: 5, volumeThreshold: 1 },
    );
    await expect(breaker.fire()).rejects.toBeInstanceOf(BreakerTimeoutError);
    expect(seenSignal?.aborted).toBe(true);
    expect(breaker.state).toBe('open');
  });

  it('exports fleet_breaker_state per breaker on a shared registry and removes it on shutdown', async () => {
    const registry = new Registry();
    const failing = breakerWith(
      { next: async () => Promise.reject(new RetriableError('down')) },
      { registry, resetTimeoutMs: 60_000 },
      'payments',
    );
    breakerWith({ next: async () => 'ok' }, { registry }, 'catalog');
    expect(await metricValue(registry, 'fleet_breaker_state', { breaker: 'payments' })).toBe(0);

    await failing.fire().catch(() => {});
    await failing.fire().catch(() => {});
    expect(await metricValue(registry, 'fleet_breaker_state', { breaker: 'payments' })).toBe(2);
    expect(await metricValue(registry, 'fleet_breaker_state', { breaker: 'catalog' })).toBe(0);

    failing.shutdown();
    expect(await metricValue(registry, 'fleet_breaker_state', { breaker: 'payments' })).toBeUndefined();
    await expect(failing.fire()).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('rejects nonsensical options', () => {
    expect(() => createCircuitBreaker('x', async () => 1, { errorThresholdPercentage: 0 })).toThrow(
      RangeError,
    );
    expect(() => createCircuitBreaker('x', async () => 1, { timeoutMs: -1 })).toThrow(RangeError);
  });
});

describe('BreakerRegistry', () => {
  it('answers whether any dependency of a handler is open, and relays state changes', async () => {
    const registry = new BreakerRegistry();
    const pricing = registry.add(
      breakerWith(
        { next: async () => Promise.reject(new RetriableError('down')) },
        { resetTimeoutMs: 60_000 },
      ),
    );
    registry.add(breakerWith({ next: async () => 'ok' }, {}, 'catalog'));
    const changes: string[] = [];
    registry.onStateChange((name, state) => changes.push(`${name}:${state}`));

    expect(registry.anyOpen(['catalog', 'pricing-api'])).toBe(false);
    await pricing.fire().catch(() => {});
    await pricing.fire().catch(() => {});

    expect(registry.firstOpen(['catalog', 'pricing-api', 'unknown'])).toBe('pricing-api');
    expect(registry.anyOpen(['catalog'])).toBe(false);
    expect(registry.openBreakers()).toEqual(['pricing-api']);
    expect(registry.states()).toEqual({ 'pricing-api': 'open', catalog: 'closed' });
    expect(changes).toEqual(['pricing-api:open']);
    expect(() => registry.add(breakerWith({ next: async () => 'ok' }))).toThrow(/already registered/);

    registry.shutdown();
    expect(registry.get('pricing-api')).toBeUndefined();
    registry.shutdown();
  });
});
