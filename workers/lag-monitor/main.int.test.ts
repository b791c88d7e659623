import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts the lag monitor process; resolves with it and its JSON log lines as they come. */
function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, METRICS_PORT: '0', LAG_POLL_INTERVAL_MS: '300', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { child, lines, stderr: () => stderr };
}

describe('lag monitor process', () => {
  it('serves /readyz and /v1/lag, and exits 0 on SIGTERM', async () => {
    const { child, lines, stderr } = startProcess({ LAG_GROUP_PATTERN: '^fleet\\.test-nothing-matches$' });
    const exited = once(child, 'exit');
    try {
      const deadline = Date.now() + 30_000;
      let port: number | undefined;
      while (port === undefined) {
        if (Date.now() > deadline) throw new Error(`no start line: ${stderr()}`);
        port = lines.find((l) => l.msg === 'lag monitor started')?.port as number | undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      let ready = 503;
      while (ready !== 200 && Date.now() < deadline) {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        ready = response.status;
        await response.body?.cancel();
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(200);
      const lag = (await (await fetch(`http://127.0.0.1:${port}/v1/lag`)).json()) as {
        up: boolean;
        groups: unknown[];
      };
      expect(lag).toMatchObject({ up: true, groups: [] });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code).toBe(0);
    expect(lines.map((l) => l.msg)).toContain('lag monitor stopped');
  });

  it('exits 78 naming the variable when the configuration is bad', async () => {
    const { child, stderr } = startProcess({ LAG_STATUS_WINDOW: '1', LAG_GROUP_PATTERN: '(' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(stderr()).toContain('LAG_STATUS_WINDOW="1": expected an integer between 2 and 1000');
    expect(stderr()).toContain('LAG_GROUP_PATTERN="(": expected a valid regular expression');
  });
});
