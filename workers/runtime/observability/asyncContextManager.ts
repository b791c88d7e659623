import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

let registered: boolean | undefined;

/**
 * Registers OpenTelemetry's AsyncLocalStorage context manager (so a consumer span's trace reaches
 * the handler's logs and the records it produces) globally unless one is already there (an SDK
 * registered its own, which then wins). Idempotent; returns whether a working manager is active.
 */
export function ensureAsyncContextManager(): boolean {
  if (registered !== undefined) return registered;
  // A registered manager keeps a context across `with`; the no-op one forgets it at once.
  const probeKey = Symbol('fleetstream.context-probe');
  const probe = ROOT_CONTEXT.setValue(probeKey, true);
  const alreadyWorking = context.with(probe, () => context.active().getValue(probeKey) === true);
  registered =
    alreadyWorking || context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return registered;
}
