import { setTimeout as sleep } from 'node:timers/promises';

/** The processes the killer can kill, and what it asks them before. */
export interface KillTarget {
  /** Sends a signal; false when the process is not running (between restarts). */
  signal(name: string, signal: NodeJS.Signals): boolean;
  waitUntilReady(name: string, timeoutMs: number): Promise<void>;
  /** Records the process received and did not commit (null when it could not say). */
  uncommitted(name: string): Promise<number | null>;
}

/** When to kill whom. */
export interface KillPlan {
  kills: number;
  settlers: number;
  /** Requests the load is asked to send; kill k comes once k/(kills+1) of them were answered. */
  requests: number;
  answered: () => number;
  /** True once the load ended some other way (it failed): the killer stops waiting. */
  stopped: () => boolean;
  onKill?: (kill: KillRecord) => void;
  /** How long a victim may take to be ready again before the killer fails. */
  readyTimeoutMs?: number;
}

/** One SIGKILL: whom, how many answers in, and what it had not committed. */
export interface KillRecord {
  victim: string;
  answered: number;
  uncommitted: number | null;
}

/**
 * SIGKILLs settlers round-robin, paced by the load's answers, and resolves once every kill
 * landed and the last victim is ready again. The load keeps going until then (its
 * `keepLoading`), so every kill lands with work in flight and the run has every kill it asked for.
 */
export async function runKiller(target: KillTarget, plan: KillPlan): Promise<KillRecord[]> {
  const kills: KillRecord[] = [];
  const readyTimeoutMs = plan.readyTimeoutMs ?? 60_000;
  for (let k = 0; k < plan.kills; k++) {
    const due = Math.ceil((plan.requests * (k + 1)) / (plan.kills + 1));
    while (plan.answered() < due) {
      if (plan.stopped()) return kills;
      await sleep(10);
    }
    const victim = `settler-${(k % plan.settlers) + 1}`;
    const kill = await killWhenRunning(target, victim, plan.answered, readyTimeoutMs);
    kills.push(kill);
    plan.onKill?.(kill);
  }
  const last = kills.at(-1);
  if (last) await target.waitUntilReady(last.victim, readyTimeoutMs);
  return kills;
}

/** Kills `victim` once it runs and is ready; never spins while it is between restarts. */
async function killWhenRunning(
  target: KillTarget,
  victim: string,
  answered: () => number,
  readyTimeoutMs: number,
): Promise<KillRecord> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    await target.waitUntilReady(victim, Math.max(1, deadline - Date.now()));
    const uncommitted = await target.uncommitted(victim);
    if (target.signal(victim, 'SIGKILL')) return { victim, answered: answered(), uncommitted };
    if (Date.now() > deadline) throw new Error(`${victim} could not be killed for ${readyTimeoutMs} ms`);
    // It exited between the readiness answer and the signal: wait for the restart, do not spin.
    await sleep(100);
  }
}

/** Sums a gauge's series in a Prometheus text exposition (0 when it has none). */
export function sumOfGauge(metricsText: string, name: string): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
