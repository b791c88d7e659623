import type { Registry } from 'prom-client';

/** Test helpers that read a worker's own metrics registry. Not for production code. */
type WithRegistry = { registry: Registry };

/** The samples of one metric on a worker's registry, each with its sample name (none when it has no series). */
async function metricSamples(
  worker: WithRegistry,
  name: string,
): Promise<{ sampleName: string; value: number }[]> {
  // One metric, not the whole registry: benchmarks poll this while the worker they time runs.
  const metric = await worker.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).map((v) => ({
    sampleName: (v as { metricName?: string }).metricName ?? name,
    value: v.value,
  }));
}

const sumOf = (samples: { sampleName: string; value: number }[], sampleName: string): number =>
  samples.filter((s) => s.sampleName === sampleName).reduce((sum, s) => sum + s.value, 0);

/** The sum of a counter's series on a worker's registry (0 when it has none). */
export async function counterTotal(worker: WithRegistry, name: string): Promise<number> {
  return sumOf(await metricSamples(worker, name), name);
}

/** A histogram's observation count and mean over all its series on a worker's registry. */
export async function histogramMean(
  worker: WithRegistry,
  name: string,
): Promise<{ count: number; mean: number }> {
  const samples = await metricSamples(worker, name);
  const count = sumOf(samples, `${name}_count`);
  return { count, mean: count === 0 ? 0 : sumOf(samples, `${name}_sum`) / count };
}
