import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyProviderApp } from '../../harness/notifyProvider/notifyProviderApp.ts';
import { DependencyUnavailableError, dispositionOf } from '../runtime/errors/processingErrors.ts';
import type { Notification } from './notification.ts';
import { InvalidProviderRequestError, ProviderRejectedError, sendNotification } from './providerClient.ts';

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
    // fetch reports it as a TypeError too, "fetch failed" with the network error as cause: not permanent.
    expect(closed.cause).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    // After all that, the message still goes through once the provider is well.
    expect(await sendNotification(settings(), notification('key-3'), never)).toMatchObject({
      outcome: 'sent',
    });
  });

  it('refuses for good a message that cannot become an HTTP request (a header value fetch rejects), sending nothing', async () => {
    const before = await acceptedCount();
    for (const key of ['key-\n4', 'key-\u20ac-4']) {
      const invalid = await failure(sendNotification(settings(), notification(key), never));
      expect(dispositionOf(invalid), JSON.stringify(key)).toBe('dead-letter');
      expect(invalid).toBeInstanceOf(InvalidProviderRequestError);
      expect(invalid.message).toMatch(/nothing was sent/);
      expect(invalid.cause).toBeInstanceOf(TypeError);
    }
    expect(await acceptedCount()).toBe(before);
  });

  it('still takes a connection dropped mid-request (fetch failed, with a cause) as the provider being unavailable', async () => {
    // A provider that takes the connection and drops it mid-request: the request was valid and left.
    const dropping = await listenDroppingConnections();
    try {
      const port = (dropping.address() as { port: number }).port;
      const dropped = await failure(
        sendNotification(
          { ...settings(), url: `http://127.0.0.1:${port}/v1/messages` },
          notification('key-5'),
          never,
        ),
      );
      expect(dropped).toBeInstanceOf(DependencyUnavailableError);
      expect(dispositionOf(dropped)).toBe('pause-dependency');
      expect(dropped.cause).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    } finally {
      await new Promise((resolve) => dropping.close(resolve));
    }
  });
});

async function acceptedCount(): Promise<number> {
  const response = await fetch(url);
  return ((await response.json()) as { messages: unknown[] }).messages.length;
}

/** A TCP server that reads the start of each request and resets the connection without an answer. */
async function listenDroppingConnections(): Promise<Server> {
  const server = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
