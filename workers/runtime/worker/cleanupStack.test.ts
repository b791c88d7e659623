import { describe, expect, it } from 'vitest';
import { CleanupStack } from './cleanupStack.ts';

describe('CleanupStack', () => {
  it('releases newest first, reports a failing step and still runs the rest, once', async () => {
    const order: string[] = [];
    const errors: string[] = [];
    const stack = new CleanupStack((error, name) => errors.push(`${name}: ${error.message}`));
    stack.push(() => {
      order.push('pool');
    });
    stack.push(async () => {
      order.push('producer');
      throw new Error('producer stuck');
    }, 'kafka producer');
    stack.push(async () => {
      order.push('health');
    });
    await stack.closeAll();
    await stack.closeAll();
    expect(order).toEqual(['health', 'producer', 'pool']);
    expect(errors).toEqual(['kafka producer: producer stuck']);
  });
});
