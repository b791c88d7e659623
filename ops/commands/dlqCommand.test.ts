import { describe, expect, it } from 'vitest';
import { runOpsCli } from '../cli.ts';
import type { CliIo } from '../cliSupport.ts';

/** Runs the CLI with captured output; every case here fails on its arguments before reaching a service. */
async function run(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const io: CliIo = { env: {}, out: () => undefined, err: (line) => err.push(line) };
  const code = await runOpsCli(argv, io);
  return { code, err: err.join('\n') };
}

describe('ops dlq replay arguments', () => {
  it('refuses a real replay without --max or --yes (exit 2), whatever the filters', async () => {
    for (const argv of [
      ['dlq', 'replay', 'a.dlq'],
      ['dlq', 'replay', 'a.dlq', '--rate', '20/s'],
      ['dlq', 'replay', 'a.dlq', '--error-code', 'REFUND_OF_UNKNOWN_PAYMENT'],
    ]) {
      const result = await run(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err, argv.join(' ')).toMatch(/needs --max N .* or --yes/);
    }
  });

  it('checks the other arguments first and knows --error-code and --yes', async () => {
    expect((await run('dlq', 'replay', 'a.dlq', '--max', '0')).err).toMatch(/--max must be a whole number/);
    expect((await run('dlq', 'replay', 'a.dlq', '--error-code')).err).toMatch(/--error-code/);
    expect((await run('dlq', 'list', 'a.dlq', '--yes')).err).toMatch(/Unknown option '--yes'/);
    expect((await run('dlq', 'replay', '--help')).code).toBe(0);
  });
});
