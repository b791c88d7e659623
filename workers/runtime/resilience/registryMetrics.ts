import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Returns the gauge `name` of `registry`, creating it when absent. Several modules (and several
 * breakers) share one metric name, and prom-client refuses a second registration of a name.
 */
export function gaugeOn<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return new Gauge<L>({ name, help, labelNames, registers: [registry] });
  if (!(existing instanceof Gauge))
    throw new TypeError(`metric ${name} is already registered and is not a gauge`);
  return existing as Gauge<L>;
}

/** Returns the counter `name` of `registry`, creating it when absent (see gaugeOn). */
export function counterOn<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return new Counter<L>({ name, help, labelNames, registers: [registry] });
  if (!(existing instanceof Counter)) {
    throw new TypeError(`metric ${name} is already registered and is not a counter`);
  }
  return existing as Counter<L>;
}
