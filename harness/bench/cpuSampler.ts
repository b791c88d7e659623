/**
 * Where the CPU went during a measure (Linux /proc): the whole machine's busy share and the CPU
 * time of the processes on the request path, so a report can say what limits a rate on a
 * small shared machine. Elsewhere (no /proc) every figure is reported as unknown.
 */
import fs from 'node:fs';

const ticksPerSecond = 100; // USER_HZ, 100 on every mainstream Linux build

/** A process group: a name and how to recognise its processes. */
export interface ProcessGroup {
  name: string;
  matches(process: { comm: string; cmdline: string; environ: () => string }): boolean;
}

interface Snapshot {
  machineBusy: number;
  machineTotal: number;
  groups: Map<string, number>;
  self: NodeJS.CpuUsage;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function snapshot(groups: readonly ProcessGroup[]): Snapshot | undefined {
  const stat = read('/proc/stat').split('\n')[0];
  if (!stat?.startsWith('cpu ')) return undefined;
  const fields = stat.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const byGroup = new Map(groups.map((g) => [g.name, 0]));
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const raw = read(`/proc/${entry}/stat`);
    const close = raw.lastIndexOf(')');
    if (close < 0) continue;
    const comm = raw.slice(raw.indexOf('(') + 1, close);
    const rest = raw.slice(close + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]); // utime, stime
    const cmdline = read(`/proc/${entry}/cmdline`).replaceAll('\0', ' ');
    const info = { comm, cmdline, environ: () => read(`/proc/${entry}/environ`) };
    const group = groups.find((g) => g.matches(info));
    if (group) byGroup.set(group.name, (byGroup.get(group.name) ?? 0) + ticks);
  }
  return { machineBusy: total - idle, machineTotal: total, groups: byGroup, self: process.cpuUsage() };
}

/** CPU spent between start() and stop(): the machine's busy share and seconds per group. */
export interface CpuSpent {
  machineBusyShare: number;
  /** CPU seconds per group, plus `load generator` (this process). */
  seconds: Map<string, number>;
}

/** Starts sampling; `stop()` returns what was spent since (undefined without /proc). */
export function startCpuSampling(groups: readonly ProcessGroup[]): { stop(): CpuSpent | undefined } {
  const before = snapshot(groups);
  return {
    stop: () => {
      const after = snapshot(groups);
      if (!before || !after) return undefined;
      const seconds = new Map<string, number>();
      for (const [name, ticks] of after.groups) {
        // A process that exited in between takes its ticks with it: never report a negative figure.
        seconds.set(name, Math.max(0, ticks - (before.groups.get(name) ?? 0)) / ticksPerSecond);
      }
      const self = process.cpuUsage(before.self);
      seconds.set('load generator', (self.user + self.system) / 1e6);
      return {
        machineBusyShare:
          (after.machineBusy - before.machineBusy) / Math.max(1, after.machineTotal - before.machineTotal),
        seconds,
      };
    },
  };
}

/** `ingress 1.52, postgres 1.60, … ms CPU per <unit>; machine 93% busy`. */
export function describeCpu(spent: CpuSpent | undefined, count: number, unit: string): string {
  if (!spent || count === 0) return 'CPU split unknown (no /proc)';
  const parts = [...spent.seconds]
    .filter(([, s]) => (s * 1000) / count >= 0.005)
    .map(([name, s]) => `${name} ${((s * 1000) / count).toFixed(2)}`);
  return `CPU per ${unit}: ${parts.join(', ')} ms; machine ${Math.round(spent.machineBusyShare * 100)}% busy`;
}
