import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, context, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * An AsyncLocalStorage-backed OpenTelemetry context manager. Without one, the API's no-op
 * manager makes `context.active()` always the root, so a consumer span's trace would not reach
 * the handler's logs or the records it produces. This is the same design as
 * `@opentelemetry/context-async-hooks`' AsyncLocalStorageContextManager (functions only; event
 * emitters are returned unbound); swap to that package when it is added to the dependencies.
 */
export class AsyncLocalStorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    activeContext: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(activeContext, () => fn.call(thisArg, ...args));
  }

  bind<T>(boundContext: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (thisArg: unknown, args: unknown[]) =>
      this.with(boundContext, () => (target as (...a: unknown[]) => unknown).apply(thisArg, args));
    return function bound(this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}

let registered: boolean | undefined;

/**
 * Registers the AsyncLocalStorage context manager globally unless one is already there (an SDK
 * registered its own, which then wins). Idempotent; returns whether a working manager is active.
 */
export function ensureAsyncContextManager(): boolean {
  if (registered !== undefined) return registered;
  // A registered manager keeps a context across `with`; the no-op one forgets it at once.
  const probeKey = Symbol('fleetstream.context-probe');
  const probe = ROOT_CONTEXT.setValue(probeKey, true);
  const alreadyWorking = context.with(probe, () => context.active().getValue(probeKey) === true);
  registered = alreadyWorking || context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  return registered;
}
