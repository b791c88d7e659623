import type { BreakerState, WorkerCircuitBreaker } from './circuitBreaker.ts';

/** What the registry needs of a breaker (any argument and result types). */
export type RegisteredBreaker = Pick<WorkerCircuitBreaker, 'name' | 'state' | 'onStateChange' | 'shutdown'>;

/** Called when any breaker of the registry changes state. */
export type RegistryStateListener = (breaker: string, state: BreakerState, previous: BreakerState) => void;

/**
 * The circuit breakers of one process, by name, so the engine can ask "is any breaker this
 * handler depends on open?" before running it, and subscribe once to every state change.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, RegisteredBreaker>();
  private readonly unsubscribers = new Map<string, () => void>();
  private readonly listeners = new Set<RegistryStateListener>();

  /** Adds a breaker; throws when one of the same name is already registered (names label metrics). */
  add<B extends RegisteredBreaker>(breaker: B): B {
    if (this.breakers.has(breaker.name))
      throw new Error(`circuit breaker ${breaker.name} is already registered`);
    this.breakers.set(breaker.name, breaker);
    const unsubscribe = breaker.onStateChange((state, previous) => {
      for (const listener of this.listeners) listener(breaker.name, state, previous);
    });
    this.unsubscribers.set(breaker.name, unsubscribe);
    return breaker;
  }

  /** The breaker called `name`, if registered. */
  get(name: string): RegisteredBreaker | undefined {
    return this.breakers.get(name);
  }

  /** The first of `names` whose breaker is open (unknown names are skipped), else undefined. */
  firstOpen(names: Iterable<string>): string | undefined {
    for (const name of names) {
      if (this.breakers.get(name)?.state === 'open') return name;
    }
    return undefined;
  }

  /** Whether any of `names` is open; half-open counts as not open, since its probe is the next real call. */
  anyOpen(names: Iterable<string>): boolean {
    return this.firstOpen(names) !== undefined;
  }

  /** Names of all open breakers (for health and logs). */
  openBreakers(): string[] {
    return [...this.breakers.values()].filter((b) => b.state === 'open').map((b) => b.name);
  }

  /** Every registered breaker's state, by name. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers.values()].map((b) => [b.name, b.state]));
  }

  /** Subscribes to state changes of every breaker, present and future; returns the unsubscribe function. */
  onStateChange(listener: RegistryStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Removes a breaker and shuts it down. */
  remove(name: string): void {
    this.unsubscribers.get(name)?.();
    this.unsubscribers.delete(name);
    this.breakers.get(name)?.shutdown();
    this.breakers.delete(name);
  }

  /** Shuts every breaker down and empties the registry. Idempotent. */
  shutdown(): void {
    for (const name of [...this.breakers.keys()]) this.remove(name);
    this.listeners.clear();
  }
}
