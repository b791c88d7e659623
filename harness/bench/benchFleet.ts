/**
 * The benchmarks' isolated fleet: harness/doubleBooking/isolatedFleet.ts, with two differences.
 *
 * - Preparation skips `topics apply` of the shared catalog. The fleet uses none of the catalog's
 *   topics, and that step reconciles the whole shared broker: it exits 2 ("refused") whenever
 *   another run has left a non-catalog `fleet.*` topic on it (integration tests create
 *   `fleet.test-*` topics).
 * - The supervisor's "ready" lines go to stderr so stdout keeps only the summary lines.
 */

import { execFileSync } from 'node:child_process';
import { type IsolatedFleet, startIsolatedFleet } from '../doubleBooking/isolatedFleet.ts';
import { preparationSteps } from '../fleet/prepareFleet.ts';
import { repoRoot } from '../stack/stackConfig.ts';

/** Runs every preparation step but `topics` (migrations, schemas, local vehicle catalog), silently. */
function prepareWithoutCatalogTopics(env: NodeJS.ProcessEnv): void {
  for (const step of preparationSteps.filter((s) => s.title !== 'topics')) {
    execFileSync(process.execPath, step.args, { cwd: repoRoot, env, stdio: 'pipe' });
  }
}

/** Starts an isolated fleet; `extraEnv` reaches every process (and overrides the bench defaults). */
export async function startBenchFleet(options: {
  settlers: number;
  partitions: number;
  log?: (line: string) => void;
  extraEnv?: Record<string, string>;
}): Promise<IsolatedFleet> {
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await startIsolatedFleet({
      ...options,
      label: 'bench',
      logLevel: process.env.BENCH_LOG_LEVEL,
      prepare: prepareWithoutCatalogTopics,
    });
  } finally {
    process.stdout.write = write;
  }
}
