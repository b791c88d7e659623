import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyProviderApp } from '../../harness/notifyProvider/notifyProviderApp.ts';
import { DependencyUnavailableError } from '../runtime/errors/processingErrors.ts';
import type { Notification } from './notification.ts';
import { ProviderRejectedError, sendNotification } from './providerClient.ts';

// The local provider over real HTTP on a free port: the client's status handling, end to end.
const provider = createNotifyProviderApp({ token: 'secret' });
let url: string;

beforeAll(async () => {
  await provider.listen({ host: '127.0.0.1', port: 0 });
  const address = provider.server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}/v1/messages`;
});

afterAll(async () => {
  await provider.close();
});

const settings = () => ({ url, token: 'secret', timeoutMs: 1_000 });
const notification = (key: string, to = 'alice'): Notification => ({
  idempotencyKey: key,
  to,
  template: 'reservation.confirmed',
  data: { reservationId: 'r-1', vehicleId: 'v-1' },
  correlationId: 'c-1',
});
const never = new AbortController().signal;

async function failure(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the call succeeded');
}

async function inject(status: number, count: number, delayMs = 0): Promise<void> {
  const response = await fetch(url.replace('/messages', '/faults'), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status, count, delayMs }),
  });
  expect(response.status).toBe(204);
}

describe('sendNotification against the local provider', () => {
  it('sends once per idempotency key: a repeat is acknowledged as a duplicate of the same message', async () => {
    const first = await sendNotification(settings(), notification('key-1'), never);
    expect(first).toMatchObject({ outcome: 'sent', status: 201 });
    expect(first.messageId).toEqual(expect.any(String));
    const again = await sendNotification(settings(), notification('key-1'), never);
    expect(again).toEqual({ messageId: first.messageId, outcome: 'duplicate', status: 200 });
  });

  it('takes a key known with other words as told already, and refuses for good a message the provider rejects', async () => {
    // The same event delivered again after its wording changed (a replay after a deploy): 409.
    expect(await sendNotification(settings(), notification('key-1', 'mallory'), never)).toEqual({
      messageId: undefined,
      outcome: 'conflict',
      status: 409,
    });
    await inject(422, 1);
    const rejected = await failure(sendNotification(settings(), notification('key-2'), never));
    expect(rejected).toBeInstanceOf(ProviderRejectedError);
    expect(rejected.message).toMatch(/422.*injected fault/);
  });

  it('treats 5xx, 429, a wrong URL or token, a slow answer and no answer as the provider being unavailable', async () => {
    await inject(404, 1);
    expect(await failure(sendNotification(settings(), notification('key-3'), never))).toBeInstanceOf(
      DependencyUnavailableError,
    );
    await inject(503, 1);
    expect(await failure(sendNotification(settings(), notification('key-3'), never))).toBeInstanceOf(
      DependencyUnavailableError,
    );
    await inject(429, 1);
    expect(await failure(sendNotification(settings(), notification('key-3'), never))).toBeInstanceOf(
      DependencyUnavailableError,
    );
    const wrongToken = await failure(
      sendNotification({ ...settings(), token: 'stale' }, notification('key-3'), never),
    );
    expect(wrongToken).toBeInstanceOf(DependencyUnavailableError);
    expect(wrongToken.message).toMatch(/401/);
    await inject(201, 1, 1_500);
    const slow = await failure(sendNotification(settings(), notification('key-3'), never));
    expect(slow).toBeInstanceOf(DependencyUnavailableError);
    expect(slow.message).toMatch(/did not answer/);
    const closed = await failure(
      sendNotification(
        { ...settings(), url: 'http://127.0.0.1:1/v1/messages' },
        notification('key-3'),
        never,
      ),
    );
    expect(closed).toBeInstanceOf(DependencyUnavailableError);
    // After all that, the message still goes through once the provider is well.
    expect(await sendNotification(settings(), notification('key-3'), never)).toMatchObject({
      outcome: 'sent',
    });
  });
});
