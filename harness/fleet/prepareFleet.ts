import { spawnSync } from 'node:child_process';
import { repoRoot } from '../stack/stackConfig.ts';

/** One preparation step: a title, the tool invocation, and the exit codes that still mean "ready". */
interface PreparationStep {
  title: string;
  args: string[];
  /** `topics apply` exits 2 when it refused something (e.g. a topic the catalog does not list) but applied the rest. */
  acceptedExitCodes: readonly number[];
}

/** What the fleet needs before its processes start, in order; each step is idempotent. */
export const preparationSteps: readonly PreparationStep[] = [
  { title: 'topics', args: ['topics/cli.ts', 'apply'], acceptedExitCodes: [0, 2] },
  { title: 'schemas', args: ['schemas/cli.ts', 'register'], acceptedExitCodes: [0] },
  { title: 'database', args: ['db/cli.ts', 'migrate'], acceptedExitCodes: [0] },
  { title: 'local vehicle catalog', args: ['db/cli.ts', 'seed-local'], acceptedExitCodes: [0] },
];

/** Runs every preparation step with the given environment; throws naming the step that failed. */
export function prepareFleet(env: NodeJS.ProcessEnv = process.env, quiet = false): void {
  for (const step of preparationSteps) {
    if (!quiet) console.log(`\n== ${step.title}`);
    const result = spawnSync(process.execPath, step.args, {
      cwd: repoRoot,
      env,
      stdio: quiet ? 'pipe' : 'inherit',
      encoding: 'utf8',
    });
    if (result.status === null || !step.acceptedExitCodes.includes(result.status)) {
      const output = quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}`.trimEnd() : '';
      throw new Error(
        `preparation step "${step.title}" (node ${step.args.join(' ')}) exited ${result.status ?? result.signal}${output}`,
      );
    }
  }
}
