import { describe, expect, it } from 'vitest';
import { runOpsCli } from './cli.ts';
import type { CliIo } from './cliSupport.ts';

/** Runs the CLI with captured output; no command here reaches a service (they fail on arguments first). */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { env: {}, out: (line) => out.push(line), err: (line) => err.push(line) };
  const code = await runOpsCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('ops CLI arguments', () => {
  it('prints usage with exit 2 without a command, and with exit 0 for --help', async () => {
    expect((await run()).code).toBe(2);
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('dlq list|inspect|replay');
  });

  it('shows every command its own --help with exit 0', async () => {
    for (const argv of [
      ['lag', '--help'],
      ['dlq', '--help'],
      ['dlq', 'replay', 'x.dlq', '--help'],
      ['group', 'reset-offsets', '--help'],
      ['worker', '--help'],
      ['token', '--help'],
      ['help', 'dlq'],
    ]) {
      const result = await run(...argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.out, argv.join(' ')).toMatch(/^usage: /);
    }
  });

  it('rejects bad arguments with exit 2 and the command usage', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown command "nope"/],
      [['lag', 'extra'], /unexpected argument "extra"/],
      [['lag', '--samples', '1'], /--samples must be a whole number between 2 and 100/],
      [['lag', '--from', 'not a url'], /--from must be a URL/],
      [['lag', '--from', 'http://127.0.0.1:9104', '--samples', '3'], /direct mode only/],
      [['dlq', 'purge', 'x.dlq'], /unknown dlq command "purge"/],
      [['dlq', 'list', 'fleet.x.v1'], /not a dead-letter topic/],
      [['dlq', 'list'], /missing the dead-letter topic/],
      [['dlq', 'list', 'a.dlq', 'b.dlq'], /unexpected argument "b.dlq"/],
      [['dlq', 'inspect', 'a.dlq', '--partition', '1'], /needs --partition P and --offset O/],
      [['dlq', 'replay', 'a.dlq', '--rate', '0/s'], /--rate must be a positive rate/],
      [['dlq', 'replay', 'a.dlq', '--max', '0'], /--max must be a whole number/],
      [
        ['dlq', 'replay', 'a.dlq', '--since', '2026-05-01'],
        /--since must be an ISO 8601 date-time with a zone/,
      ],
      [
        ['dlq', 'replay', 'a.dlq', '--since', '2026-05-02T00:00:00Z', '--until', '2026-05-01T00:00:00Z'],
        /--since must be before --until/,
      ],
      [
        ['group', 'reset-offsets', '--group', 'g', '--topic', 't'],
        /needs --group, --topic and --to-datetime/,
      ],
      [
        [
          'group',
          'reset-offsets',
          '--group',
          'g',
          '--topic',
          't',
          '--to-datetime',
          '2026-05-01T00:00:00Z',
          '--dry-run',
          '--execute',
        ],
        /choose one of --dry-run and --execute/,
      ],
      [['group', 'delete'], /unknown group command "delete"/],
      [['worker', 'resume-dlq'], /needs --pid P/],
      [['worker', 'resume-dlq', '--pid', 'abc'], /--pid must be a whole number/],
    ];
    for (const [argv, message] of cases) {
      const result = await run(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err, argv.join(' ')).toMatch(message);
      expect(result.err, argv.join(' ')).toContain('usage: ');
    }
  });

  it('reports bad configuration with exit 2, naming the variable', async () => {
    const err: string[] = [];
    const code = await runOpsCli(['dlq', 'list', 'a.dlq'], {
      env: { KAFKA_BOOTSTRAP_SERVERS: 'not a host' },
      out: () => undefined,
      err: (line) => err.push(line),
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('KAFKA_BOOTSTRAP_SERVERS');
  });
});
