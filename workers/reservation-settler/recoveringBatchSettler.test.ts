import { describe, expect, it } from 'vitest';
import {
  DependencyUnavailableError,
  PermanentError,
  RetriableError,
} from '../runtime/errors/processingErrors.ts';
import { type BatchFailureKind, recoveringBatchSettler } from './recoveringBatchSettler.ts';
import type { CommandResult } from './settlement.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import { requestCommand } from './testing/settlementCommands.ts';

const pgError = (code: string, message = `pg ${code}`) => Object.assign(new Error(message), { code });
const commands = (n: number): SettlementCommand[] =>
  Array.from({ length: n }, (_, i) =>
    requestCommand({ vehicleId: `00000000-0000-4000-8000-00000000000${i}`, fromHour: 0, toHour: 1 }),
  );
const ok = (batch: SettlementCommand[]): CommandResult[] =>
  batch.map((c) => ({ ok: true, settlement: { key: c.vehicleId } as never }));

describe('recoveringBatchSettler', () => {
  it('reruns the whole batch after a deadlock and returns its results', async () => {
    const calls: number[] = [];
    const failures: BatchFailureKind[] = [];
    const settle = recoveringBatchSettler(
      async (batch) => {
        calls.push(batch.length);
        if (calls.length === 1) throw pgError('40P01', 'deadlock detected');
        return ok(batch);
      },
      { attempts: 3, retryDelayMs: 0 },
      (kind) => failures.push(kind),
    );
    const results = await settle(commands(3));
    expect(calls).toEqual([3, 3]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(failures).toEqual(['conflict']);
  });

  it('hands every command back as retriable once the attempts are used up', async () => {
    let calls = 0;
    const settle = recoveringBatchSettler(
      async () => {
        calls++;
        throw pgError('40001');
      },
      { attempts: 2, retryDelayMs: 0 },
    );
    const results = await settle(commands(2));
    expect(calls).toBe(2);
    for (const result of results) expect(!result.ok && result.error).toBeInstanceOf(RetriableError);
  });

  it('fails every command as "postgres unavailable" when the server cannot be reached, without retrying', async () => {
    let calls = 0;
    const settle = recoveringBatchSettler(
      async () => {
        calls++;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
      { attempts: 3, retryDelayMs: 0 },
    );
    const results = await settle(commands(2));
    expect(calls).toBe(1);
    for (const result of results) {
      expect(!result.ok && result.error).toBeInstanceOf(DependencyUnavailableError);
      expect(!result.ok && (result.error as DependencyUnavailableError).dependency).toBe('postgres');
    }
  });

  it('isolates an unexpected failure: each command is rerun alone and only the culprit fails', async () => {
    const batch = commands(3);
    const culprit = batch[1]!;
    const settle = recoveringBatchSettler(
      async (run) => {
        if (run.includes(culprit)) throw pgError('23514', 'new row violates check constraint');
        return ok(run);
      },
      { attempts: 3, retryDelayMs: 0 },
    );
    const results = await settle(batch);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(!results[1]!.ok && results[1]!.error).toBeInstanceOf(PermanentError);
  });
});
