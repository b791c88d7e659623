import CircuitBreaker from 'opossum';
import type { Registry } from 'prom-client';
import { DependencyUnavailableError, ProcessingError, RetriableError } from '../errors/processingErrors.ts';
import { gaugeOn } from './registryMetrics.ts';
import { type ResilienceLogger, silentLogger } from './resilienceLogger.ts';

/** The breaker states the engine acts on: pause partitions on `open`, resume them on `half-open`. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Called after every state change, with the new and the previous state. */
export type BreakerStateListener = (state: BreakerState, previous: BreakerState) => void;

/** Values of the `fleet_breaker_state{breaker}` gauge. */
export const breakerStateGaugeValue: Readonly<Record<BreakerState, number>> = Object.freeze({
  closed: 0,
  'half-open': 1,
  open: 2,
});

export interface CircuitBreakerOptions {
  /** Per-call timeout in ms: the call's AbortSignal is aborted and the call counts as a failure. Default 5000. */
  timeoutMs?: number;
  /** Failure percentage (of calls in the rolling window) above which the breaker opens. Default 50. */
  errorThresholdPercentage?: number;
  /** How long the breaker stays open before letting one probe through (half-open), in ms. Default 10000. */
  resetTimeoutMs?: number;
  /** Length of the rolling statistics window in ms. Default 10000. */
  rollingCountTimeoutMs?: number;
  /** Number of buckets the rolling window is divided into. Default 10. */
  rollingCountBuckets?: number;
  /** Calls needed in the window before the failure percentage is judged at all. Default 10. */
  volumeThreshold?: number;
  /**
   * Whether an error says the downstream is unhealthy. Default: everything except a non-retriable
   * ProcessingError (PermanentError, PoisonMessageError): a 4xx proves the downstream is up.
   */
  isFailure?: (error: unknown) => boolean;
  /** Registry for the `fleet_breaker_state{breaker}` gauge. Default: no metric. */
  registry?: Registry;
  /** Logger for state changes. Default: silent. */
  logger?: ResilienceLogger;
}

type BreakerSettings = Required<Omit<CircuitBreakerOptions, 'isFailure' | 'registry' | 'logger'>>;

/** Resolved defaults, exported so docs and tests quote one source. */
export const circuitBreakerDefaults: Readonly<BreakerSettings> = Object.freeze({
  timeoutMs: 5_000,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
  rollingCountBuckets: 10,
  volumeThreshold: 10,
});

/** A downstream call that did not answer within the breaker's timeout (counts as a failure; retriable). */
export class BreakerTimeoutError extends RetriableError {
  readonly dependency: string;
  constructor(dependency: string, timeoutMs: number) {
    super(`${dependency} did not answer within ${timeoutMs} ms`, { code: 'DEPENDENCY_TIMEOUT' });
    this.dependency = dependency;
  }
}

/** Default failure classification: a downstream that answers "no" (non-retriable) is healthy. */
export function isDownstreamFailure(error: unknown): boolean {
  return !(error instanceof ProcessingError && !error.retriable);
}

/** A call through the breaker; the signal aborts when the call times out or the breaker shuts down. */
export type BreakerAction<A extends unknown[], R> = (signal: AbortSignal, ...args: A) => Promise<R>;

/** A circuit breaker around one downstream of a worker, built on opossum. */
export interface WorkerCircuitBreaker<A extends unknown[] = unknown[], R = unknown> {
  readonly name: string;
  /** The current state; `open` after shutdown (every call is refused). */
  readonly state: BreakerState;
  /** Calls the action; rejects with DependencyUnavailableError while open (or half-open with a probe in flight). */
  fire(...args: A): Promise<R>;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: BreakerStateListener): () => void;
  /** Stops the breaker's timers, aborts calls in flight and removes its gauge series. Idempotent. */
  shutdown(): void;
}

/**
 * Wraps `action` in a breaker named `name` (the name is the gauge label and the dependency in
 * DependencyUnavailableError). The timeout is enforced here, per call, instead of by opossum:
 * opossum aborts one shared AbortController, so one slow call would abort every call in flight.
 */
export function createCircuitBreaker<A extends unknown[], R>(
  name: string,
  action: BreakerAction<A, R>,
  options: CircuitBreakerOptions = {},
): WorkerCircuitBreaker<A, R> {
  const settings = { ...circuitBreakerDefaults, ...definedOnly(options) };
  validateBreakerSettings(name, settings);
  const isFailure = options.isFailure ?? isDownstreamFailure;
  const logger = options.logger ?? silentLogger;
  const inFlight = new Set<AbortController>();

  const timedAction = (...args: A): Promise<R> =>
    callWithTimeout(name, settings.timeoutMs, inFlight, action, args);
  const breaker = new CircuitBreaker<A, R>(timedAction, {
    name,
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingCountTimeoutMs,
    rollingCountBuckets: settings.rollingCountBuckets,
    volumeThreshold: settings.volumeThreshold,
    // opossum's errorFilter returns true for errors that must NOT count as failures.
    errorFilter: (error: unknown) => !isFailure(error),
  });

  const gauge = options.registry
    ? gaugeOn(
        options.registry,
        'fleet_breaker_state',
        'Circuit breaker state: 0 closed, 1 half-open, 2 open',
        ['breaker'],
      )
    : undefined;
  gauge?.set({ breaker: name }, breakerStateGaugeValue.closed);

  const listeners = new Set<BreakerStateListener>();
  let state: BreakerState = 'closed';
  let isShutdown = false;
  const transition = (next: BreakerState): void => {
    if (next === state) return;
    const previous = state;
    state = next;
    gauge?.set({ breaker: name }, breakerStateGaugeValue[next]);
    logger(next === 'open' ? 'warn' : 'info', 'circuit breaker state changed', {
      breaker: name,
      state: next,
      previous,
    });
    for (const listener of listeners) {
      try {
        listener(next, previous);
      } catch (error) {
        // A faulty listener must not stop the others nor break opossum's event loop.
        logger('error', 'circuit breaker state listener threw', { breaker: name, error: String(error) });
      }
    }
  };
  breaker.on('open', () => transition('open'));
  breaker.on('halfOpen', () => transition('half-open'));
  breaker.on('close', () => transition('closed'));

  return {
    name,
    get state(): BreakerState {
      return isShutdown ? 'open' : state;
    },
    async fire(...args: A): Promise<R> {
      try {
        return await breaker.fire(...args);
      } catch (error) {
        throw refusalAsUnavailable(name, error);
      }
    },
    onStateChange(listener: BreakerStateListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    shutdown(): void {
      if (isShutdown) return;
      isShutdown = true;
      breaker.shutdown();
      for (const controller of inFlight)
        controller.abort(new DependencyUnavailableError(name, 'breaker shut down'));
      inFlight.clear();
      listeners.clear();
      gauge?.remove({ breaker: name });
    },
  };
}

/** Maps opossum's own refusals (open, half-open probe busy, shut down) to DependencyUnavailableError. */
function refusalAsUnavailable(name: string, error: unknown): unknown {
  if (!(error instanceof Error) || !CircuitBreaker.isOurError(error)) return error;
  const code = (error as Error & { code?: string }).code;
  if (code === 'EOPENBREAKER')
    return new DependencyUnavailableError(name, `circuit breaker ${name} is open`, { cause: error });
  if (code === 'ESHUTDOWN') {
    return new DependencyUnavailableError(name, `circuit breaker ${name} is shut down`, { cause: error });
  }
  return error;
}

async function callWithTimeout<A extends unknown[], R>(
  name: string,
  timeoutMs: number,
  inFlight: Set<AbortController>,
  action: BreakerAction<A, R>,
  args: A,
): Promise<R> {
  const controller = new AbortController();
  inFlight.add(controller);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new BreakerTimeoutError(name, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    // Promise.race subscribes to both, so a late rejection of the action is never unhandled.
    return await Promise.race([action(controller.signal, ...args), timedOut]);
  } finally {
    clearTimeout(timer);
    inFlight.delete(controller);
  }
}

function validateBreakerSettings(name: string, s: BreakerSettings): void {
  const problems: string[] = [];
  if (!(s.timeoutMs > 0)) problems.push('timeoutMs must be > 0');
  if (!(s.errorThresholdPercentage > 0 && s.errorThresholdPercentage <= 100)) {
    problems.push('errorThresholdPercentage must be in (0, 100]');
  }
  if (!(s.resetTimeoutMs > 0)) problems.push('resetTimeoutMs must be > 0');
  if (!(Number.isInteger(s.rollingCountBuckets) && s.rollingCountBuckets > 0)) {
    problems.push('rollingCountBuckets must be a positive integer');
  }
  if (!(s.rollingCountTimeoutMs >= s.rollingCountBuckets)) {
    problems.push('rollingCountTimeoutMs must be at least rollingCountBuckets');
  }
  if (!(Number.isInteger(s.volumeThreshold) && s.volumeThreshold >= 0)) {
    problems.push('volumeThreshold must be a non-negative integer');
  }
  if (name.trim() === '') problems.push('name must not be empty');
  if (problems.length > 0) throw new RangeError(`circuit breaker ${name}: ${problems.join('; ')}`);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
