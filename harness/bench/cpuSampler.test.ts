import { describe, expect, it } from 'vitest';
import { type CpuSpent, describeCpu, machineMsPer } from './cpuSampler.ts';

const spent = (machineBusySeconds: number, groups: Record<string, number>): CpuSpent => ({
  machineBusyShare: 0.9,
  machineBusySeconds,
  seconds: new Map(Object.entries(groups)),
});

describe('machine CPU per unit of work', () => {
  it('divides the machine busy time by the work done', () => {
    expect(machineMsPer(spent(2.4, {}), 10_000)).toBeCloseTo(0.24, 10);
  });

  it('is unknown without a sample or without work', () => {
    expect(machineMsPer(undefined, 100)).toBeUndefined();
    expect(machineMsPer(spent(1, {}), 0)).toBeUndefined();
  });

  it('splits by group, leaves out groups below 5 µs per unit, and ends with the machine total', () => {
    const text = describeCpu(spent(2.4, { postgres: 1.3, kafka: 0.00004, settler: 1 }), 10_000, 'settlement');
    expect(text).toBe('CPU per settlement: postgres 0.13, settler 0.10 ms; machine 0.24 ms, 90% busy');
  });

  it('gives the machine total alone when no group is known', () => {
    expect(describeCpu(spent(2.8, {}), 10_000, 'transaction')).toBe(
      'CPU per transaction: machine 0.28 ms, 90% busy',
    );
  });
});
