import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { answerWithin } from './answerWithin.ts';

describe('answerWithin', () => {
  it('passes an answer or a failure through when it comes in time', async () => {
    await expect(answerWithin(Promise.resolve(7), 1000)).resolves.toBe(7);
    await expect(answerWithin(Promise.reject(new Error('refused')), 1000)).rejects.toThrow('refused');
  });

  it('rejects, naming the limit, when no answer comes in time', async () => {
    await expect(answerWithin(sleep(1000, 'late'), 20)).rejects.toThrow('no answer within 20 ms');
  });
});
