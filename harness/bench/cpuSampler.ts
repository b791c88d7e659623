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

/** The local stack's shared services, as every benchmark on this machine sees them. */
export const stackServiceGroups: readonly ProcessGroup[] = [
  { name: 'postgres (all)', matches: (p) => p.comm === 'postgres' },
  { name: 'kafka', matches: (p) => p.cmdline.includes('kafka.Kafka') },
  { name: 'redis', matches: (p) => p.comm.startsWith('redis-server') },
];

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
  /** CPU seconds the whole machine was busy (all cores, every process, the kernel's too). */
  machineBusySeconds: number;
  /** CPU seconds per group, plus this process under `selfName`. */
  seconds: Map<string, number>;
}

/**
 * Starts sampling; `stop()` returns what was spent since (undefined without /proc). This process
 * is reported as `selfName` (the load generator, unless it runs the code under measure itself).
 */
export function startCpuSampling(
  groups: readonly ProcessGroup[],
  selfName = 'load generator',
): { stop(): CpuSpent | undefined } {
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
      seconds.set(selfName, (self.user + self.system) / 1e6);
      const busyTicks = after.machineBusy - before.machineBusy;
      return {
        machineBusyShare: busyTicks / Math.max(1, after.machineTotal - before.machineTotal),
        machineBusySeconds: busyTicks / ticksPerSecond,
        seconds,
      };
    },
  };
}

/** Milliseconds of the whole machine's busy CPU per unit of work (undefined without /proc or work). */
export function machineMsPer(spent: CpuSpent | undefined, count: number): number | undefined {
  return spent && count > 0 ? (spent.machineBusySeconds * 1000) / count : undefined;
}

/** `CPU per <unit>: ingress 1.52, postgres 1.60, … ms; machine 3.41 ms, 93% busy`. */
export function describeCpu(spent: CpuSpent | undefined, count: number, unit: string): string {
  const machineMs = machineMsPer(spent, count);
  if (!spent || machineMs === undefined) return 'CPU split unknown (no /proc)';
  const parts = [...spent.seconds]
    .filter(([, s]) => (s * 1000) / count >= 0.005)
    .map(([name, s]) => `${name} ${((s * 1000) / count).toFixed(2)}`);
  const machine = `machine ${machineMs.toFixed(2)} ms, ${Math.round(spent.machineBusyShare * 100)}% busy`;
  return `CPU per ${unit}: ${parts.length > 0 ? `${parts.join(', ')} ms; ` : ''}${machine}`;
}
