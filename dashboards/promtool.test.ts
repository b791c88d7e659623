import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Unit level: promtool evaluates rules on synthetic series in memory; no service is started.
const checkScript = fileURLToPath(new URL('./check.sh', import.meta.url));
const prometheusDir = fileURLToPath(new URL('./prometheus/', import.meta.url));

function runCheck(env: Record<string, string> = {}): { status: number | null; output: string } {
  const result = spawnSync('bash', [checkScript], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A copy of dashboards/prometheus/ to break on purpose, with only the rule tests named (fast). */
function prometheusCopy(keepTests: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetstream-prom-'));
  scratch.push(dir);
  cpSync(prometheusDir, dir, { recursive: true });
  for (const file of readdirSync(join(dir, 'tests'))) {
    if (!keepTests.includes(file)) rmSync(join(dir, 'tests', file));
  }
  return dir;
}

// check.sh runs every rule test (about 10 s on 2 cores).
const timeout = 90_000;

describe('dashboards/check.sh', () => {
  it(
    'passes: config, rules, every rule unit test and every panel query',
    () => {
      const { status, output } = runCheck();
      expect(output).toContain('check.sh: ok: promtool check config');
      expect(output).toContain('check.sh: ok: promtool check rules');
      expect(output).toContain('check.sh: ok: promtool test rules');
      expect(output).toContain('check.sh: ok: dashboard queries parse');
      expect(status, output).toBe(0);
    },
    timeout,
  );

  it(
    'fails when an alert no longer behaves as its unit test expects',
    () => {
      const dir = prometheusCopy(['alerts-resilience.test.yml']);
      const rule = join(dir, 'rules', 'alerts-resilience.yml');
      // A wrong threshold: the breaker alert would fire on a closed breaker.
      const broken = readFileSync(rule, 'utf8').replace(
        'max by (worker, breaker) (fleet_breaker_state) > 0',
        'max by (worker, breaker) (fleet_breaker_state) >= 0',
      );
      writeFileSync(rule, broken);
      const { status, output } = runCheck({ PROMETHEUS_DIR: dir });
      expect(output).toContain('check.sh: FAILED: promtool test rules');
      expect(status).toBe(1);
    },
    timeout,
  );

  it(
    'fails on a rule file promtool cannot parse',
    () => {
      const dir = prometheusCopy(['alerts-resilience.test.yml']);
      writeFileSync(
        join(dir, 'rules', 'broken.yml'),
        'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n',
      );
      const { status, output } = runCheck({ PROMETHEUS_DIR: dir });
      expect(output).toContain('check.sh: FAILED: promtool check rules');
      expect(status).toBe(1);
    },
    timeout,
  );

  it(
    'reports a missing promtool clearly instead of passing',
    () => {
      const { status, output } = runCheck({ PROMTOOL: '/nonexistent/promtool' });
      expect(output).toContain('FAILED');
      expect(status).not.toBe(0);
    },
    timeout,
  );
});
