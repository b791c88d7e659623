import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../cliSupport.ts';

/** The ingress's development token tool, run as it is (it owns its production guard and exit codes). */
const mintTokenScript = fileURLToPath(new URL('../../workers/ingress/mintToken.ts', import.meta.url));

export const tokenUsage = `usage: ops token --sub <subject> [--role customer|admin] [--ttl seconds]

  Prints a development JWT the local ingress accepts (same as npm run -s token): delegated to
  workers/ingress/mintToken.ts with the same JWT_* variables.

exit status: those of mintToken: 0 printed; 1 failed; 2 bad arguments; 78 bad configuration or
a production environment without JWT_SECRET.`;

/** `ops token …`: runs workers/ingress/mintToken.ts with the same arguments and environment. */
export function runTokenCommand(argv: readonly string[], io: CliIo): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(tokenUsage);
    return 0;
  }
  const child = spawnSync(process.execPath, [mintTokenScript, ...argv], {
    env: { ...io.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.error) throw child.error;
  const forward = (text: string, write: (line: string) => void) => {
    for (const line of text.split('\n').filter((l) => l !== '')) write(line);
  };
  forward(child.stdout, io.out);
  forward(child.stderr, io.err);
  return child.status ?? 1;
}
