import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../doubleBooking/isolatedFleet.ts';
import { repoRoot } from '../stack/stackConfig.ts';
import { type ProcessGroup, startProcessGroup, supervisedLogMessages } from './testing/processGroup.ts';

/**
 * README command one, as a user runs it: `npm start` in its own process group (a terminal's
 * foreground job), the first reservation placed with the commands it prints, then one Ctrl-C to
 * the whole group. Free ports instead of the contract's defaults, so a fleet already running on
 * this machine does not collide with the test. The stack is up already (global setup), so this
 * run starts no service and stops none.
 */
let fleet: ProcessGroup | undefined;

afterAll(() => {
  // A failed assertion must not leave the fleet running.
  fleet?.killIfRunning();
});

/** The shell lines under "Mint a token and place a first reservation", continuation lines joined. */
function firstReservationScript(printed: string): string {
  const lines = printed.split('\n');
  const start = lines.findIndex((line) => line.includes('place a first reservation'));
  expect(start, 'npm start prints how to place a first reservation').toBeGreaterThan(-1);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    block.push(line.trim());
  }
  return block.join('\n').replaceAll('\\\n', ' ');
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start (README command one)', () => {
  it('runs the fleet, takes the printed first reservation to a decision, and stops on one Ctrl-C', async () => {
    const ports = {
      ingress: await freePort(),
      settler: await freePort(),
      ledger: await freePort(),
      notifier: await freePort(),
      notifyProvider: await freePort(),
      lagMonitor: await freePort(),
    };
    fleet = startProcessGroup('npm', ['start'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        INGRESS_PORT: String(ports.ingress),
        FLEET_SETTLER_PORT: String(ports.settler),
        FLEET_LEDGER_PORT: String(ports.ledger),
        FLEET_NOTIFIER_PORT: String(ports.notifier),
        NOTIFY_PROVIDER_PORT: String(ports.notifyProvider),
        FLEET_LAG_MONITOR_PORT: String(ports.lagMonitor),
      },
    });
    const deadline = Date.now() + 150_000;
    while (!fleet.output().includes('== fleetstream is running')) {
      if (Date.now() > deadline || fleet.child.exitCode !== null) {
        throw new Error(`npm start did not get the fleet running:\n${fleet.output()}`);
      }
      await sleep(250);
    }
    await sleep(500); // the rest of the printout
    const printed = fleet.output();
    expect(printed).toContain(`http://127.0.0.1:${ports.ingress}`);

    // The printed commands, run as a user pastes them (npm and curl on the PATH, any Node).
    const placed = spawnSync('bash', ['-eo', 'pipefail', '-c', firstReservationScript(printed)], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${path.join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(placed.status, placed.stderr).toBe(0);
    expect(placed.stdout).toMatch(/^HTTP\/1\.1 202/m);
    const location = /^location: (\/v1\/reservations\/[0-9a-f-]{36})\r?$/im.exec(placed.stdout)?.[1];
    expect(location, placed.stdout).toBeDefined();

    // The settler decides it: confirmed on a fresh database; rejected as an overlap when an
    // earlier run on this machine already booked alice's first vehicle for that period.
    const token = spawnSync('npm', ['run', '-s', 'token', '--', '--sub', 'alice'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).stdout.trim();
    let body: { status: string; reason?: string } = { status: 'pending' };
    const decidedBy = Date.now() + 30_000;
    while (body.status === 'pending' && Date.now() < decidedBy) {
      const response = await fetch(`http://127.0.0.1:${ports.ingress}${location}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      body = (await response.json()) as typeof body;
      if (body.status === 'pending') await sleep(200);
    }
    expect([
      { status: 'confirmed', reason: undefined },
      { status: 'rejected', reason: 'overlap' },
    ]).toContainEqual({ status: body.status, reason: body.reason });

    // The notifier tells alice, through the local provider, in the template of the decision.
    const reservationId = location!.split('/').pop();
    const template = body.status === 'confirmed' ? 'reservation.confirmed' : 'reservation.rejected';
    let told: { template: string; data: { reservationId: string } }[] = [];
    const notifiedBy = Date.now() + 30_000;
    while (told.length === 0 && Date.now() < notifiedBy) {
      const response = await fetch(`http://127.0.0.1:${ports.notifyProvider}/v1/messages?to=alice`);
      const { messages } = (await response.json()) as { messages: typeof told };
      told = messages.filter((m) => m.data.reservationId === reservationId);
      if (told.length === 0) await sleep(200);
    }
    expect(told.map((m) => m.template)).toEqual([template]);

    // One Ctrl-C: the terminal signals the whole group, npm forwards it once more.
    const pid = fleet.child.pid!;
    process.kill(-pid, 'SIGINT');
    await sleep(50);
    try {
      process.kill(pid, 'SIGINT');
    } catch (error) {
      // npm may already be gone: once the shell running its script dies of the SIGINT, npm
      // re-raises it on itself and exits while the supervisor still drains (seen once in CI).
      // Nothing is left to forward; the checks below still see the whole drain.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    // npm re-raises SIGINT on itself once its script ended (a shell shows status 130); the
    // supervisor's own exit 0 is its last line, printed right before process.exit(0).
    expect([
      { code: 0, signal: null },
      { code: null, signal: 'SIGINT' },
    ]).toContainEqual(await fleet.exit);
    const text = fleet.output();
    expect(text).toContain('== SIGINT: draining the fleet');
    expect(text.trimEnd()).toMatch(
      /== stack services were already running before `npm start`: left running$/,
    );
    expect(text).not.toMatch(/again: killing|forcing exit|npm error/);
    expect(supervisedLogMessages(text, 'settler')).toContain('draining');
    expect(supervisedLogMessages(text, 'rental-ledger')).toContain('draining');
    expect(supervisedLogMessages(text, 'notifier')).toContain('draining');
    expect(supervisedLogMessages(text, 'notify-provider')).toContain('stopping');
    expect(supervisedLogMessages(text, 'lag-monitor')).toContain('stopping');
    expect(supervisedLogMessages(text, 'ingress')).toContain('shutting down');
    for (const port of Object.values(ports)) expect(await portInUse(port), `port ${port}`).toBe(false);
  }, 240_000);
});
