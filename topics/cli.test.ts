import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTopicsCli } from './cli.ts';

/** Runs the CLI in-process with an environment that points at no broker: these cases must fail before any I/O. */
async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runTopicsCli(argv, {
    env: { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1', ...env },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('topics CLI (no cluster needed)', () => {
  it('prints usage with exit 0 for --help', async () => {
    const result = await run(['--help']);
    expect(result.status).toBe(0);
    expect(result.out).toContain('usage: npm run -s topics -- <plan|apply>');
    expect(result.out).toContain('2 done, but some differences were refused');
  });

  it('rejects a missing or unknown command with usage and exit 1', async () => {
    expect(await run([])).toMatchObject({
      status: 1,
      err: expect.stringContaining('missing command: plan or apply'),
    });
    expect(await run(['destroy'])).toMatchObject({
      status: 1,
      err: expect.stringContaining('unknown command "destroy"'),
    });
    expect(await run(['plan', '--force'])).toMatchObject({
      status: 1,
      err: expect.stringContaining("'--force'"),
    });
  });

  it('refuses an invalid catalog with the entry and field, before touching the cluster', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topics-cli-'));
    try {
      const file = path.join(dir, 'catalog.yaml');
      const shipped = fs.readFileSync(new URL('./catalog.yaml', import.meta.url), 'utf8');
      fs.writeFileSync(file, shipped.replace('partitions: 12', 'partitions: -3'));
      const result = await run(['apply', '--catalog', file]);
      expect(result.status).toBe(1);
      expect(result.err).toContain(`invalid topic catalog ${file}:`);
      expect(result.err).toContain(
        'topics[0] (fleet.reservation.commands.v1).partitions: expected a positive integer',
      );
      expect(result.out).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the profiles it knows when given another', async () => {
    const result = await run(['plan', '--profile', 'staging']);
    expect(result.status).toBe(1);
    expect(result.err).toContain('no profile named "staging" in the catalog (it has production, local)');
  });

  it('names a bad environment variable', async () => {
    const result = await run(['plan'], { TOPICS_TIMEOUT_MS: 'soon' });
    expect(result.status).toBe(1);
    expect(result.err).toContain('TOPICS_TIMEOUT_MS="soon": expected an integer between 1000 and 600000');
  });

  it('refuses to use the local profile by default against a cluster not on this machine', async () => {
    const remote = { KAFKA_BOOTSTRAP_SERVERS: 'kafka-0.prod.internal:9092,kafka-1.prod.internal:9092' };
    const result = await run(['apply'], remote);
    expect(result.status).toBe(1);
    expect(result.err).toContain(
      'is not the local stack: name the profile (--profile production, or TOPICS_PROFILE)',
    );
    expect(result.out).toBe('');
  });
});
