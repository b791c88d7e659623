import { execFileSync } from 'node:child_process';
import { repoRoot } from '../stack/stackConfig.ts';

/** One preparation step: a title and the tool invocation (a node script under the repo). */
interface PreparationStep {
  title: string;
  args: string[];
}

/** What the fleet needs before its processes start, in order; each step is idempotent. */
export const preparationSteps: readonly PreparationStep[] = [
  { title: 'topics', args: ['topics/cli.ts', 'apply'] },
  { title: 'schemas', args: ['schemas/cli.ts', 'register'] },
  { title: 'database', args: ['db/cli.ts', 'migrate'] },
  { title: 'local vehicle catalog', args: ['db/cli.ts', 'seed-local'] },
];

/** Runs every preparation step with the given environment, printing each tool's output. */
export function prepareFleet(env: NodeJS.ProcessEnv = process.env, quiet = false): void {
  for (const step of preparationSteps) {
    if (!quiet) console.log(`\n== ${step.title}`);
    execFileSync(process.execPath, step.args, { cwd: repoRoot, env, stdio: quiet ? 'pipe' : 'inherit' });
  }
}
