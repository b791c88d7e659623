import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyProviderApp } from '../../harness/notifyProvider/notifyProviderApp.ts';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { deadLetterHeaders } from '../runtime/resilience/deadLetterRecord.ts';
import {
  readAll,
  testWorkerEnv,
  uniqueGroup,
  waitUntil,
  waitUntilConsumed,
} from '../runtime/testing/kafkaTestKit.ts';
import { counterTotal, histogramMean } from '../runtime/testing/metricsTestKit.ts';
import { WorkerTestBench } from '../runtime/testing/workerTestBench.ts';
import { createNotifierWorker } from './notifierWorker.ts';
import { decisionEvents, vehicleIdOf } from './testing/decisionEvents.ts';

const bench = new WorkerTestBench();
const provider = createNotifyProviderApp({ token: 'test-token' });
let providerBase: string;

beforeAll(async () => {
  await provider.listen({ host: '127.0.0.1', port: 0 });
  providerBase = `http://127.0.0.1:${(provider.server.address() as { port: number }).port}/v1`;
});

afterAll(async () => {
  await bench.close();
  await provider.close();
});

const eventsTopic = (purpose: string) => bench.contractTopic(purpose, 'fleet.reservation.events.v1-value');
const produce = (topic: string, events: ReservationEvent[]) => bench.produce(topic, events, vehicleIdOf);

async function startNotifier(topic: string, groupId: string) {
  const env = testWorkerEnv({
    RESERVATION_EVENTS_TOPIC: topic,
    NOTIFIER_GROUP_ID: groupId,
    NOTIFIER_PROVIDER_URL: `${providerBase}/messages`,
    NOTIFIER_PROVIDER_TOKEN: 'test-token',
    NOTIFIER_PROVIDER_TIMEOUT_MS: '1000',
  });
  return bench.start(createNotifierWorker(env), env);
}

async function messagesTo(customer: string): Promise<{ idempotencyKey: string; template: string }[]> {
  const response = await fetch(`${providerBase}/messages?to=${customer}`);
  return ((await response.json()) as { messages: { idempotencyKey: string; template: string }[] }).messages;
}

async function injectFault(status: number, count: number): Promise<void> {
  const response = await fetch(`${providerBase}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status, count }),
  });
  expect(response.status).toBe(204);
}

describe('the notifier on Kafka and the provider', () => {
  it('tells each customer once per decision, also when the events are consumed again', async () => {
    const topic = await eventsTopic('notifier');
    const events = [
      decisionEvents.confirmed('dana'),
      decisionEvents.rejected({ customerId: 'dana', reason: 'overlap' }),
      decisionEvents.rejected({ customerId: 'dana', cancellation: true }),
      decisionEvents.cancelled('dana'),
      ...Array.from({ length: 20 }, () => decisionEvents.confirmed('erin')),
    ];
    await produce(topic, events);
    const groupId = uniqueGroup('notifier');
    const first = await startNotifier(topic, groupId);
    await waitUntilConsumed(groupId, topic);

    expect((await messagesTo('dana')).map((m) => m.template).sort()).toEqual([
      'cancellation.rejected',
      'reservation.cancelled',
      'reservation.confirmed',
      'reservation.rejected',
    ]);
    const erin = await messagesTo('erin');
    expect(new Set(erin.map((m) => m.idempotencyKey))).toEqual(
      new Set(events.slice(4).map((e) => e.eventId)),
    );

    // A fresh group over the same events (a reset, a replay): the provider recognises every key.
    await first.stop();
    const replayGroup = uniqueGroup('notifier-replay');
    const replay = await startNotifier(topic, replayGroup);
    await waitUntilConsumed(replayGroup, topic);
    expect(await messagesTo('erin')).toHaveLength(20);
    const counted = await replay.registry.getSingleMetricAsString('fleet_notifier_notifications_total');
    expect(counted).not.toMatch(/outcome="sent"/);
    expect(await counterTotal(replay, 'fleet_notifier_notifications_total')).toBe(events.length);
  });

  it('pauses while the provider is down, dead-letters nothing, and delivers once it recovers', async () => {
    const topic = await eventsTopic('notifier-outage');
    await injectFault(503, 1_000_000);
    const events = Array.from({ length: 12 }, () => decisionEvents.confirmed('frank'));
    await produce(topic, events);
    const groupId = uniqueGroup('notifier-outage');
    const worker = await startNotifier(topic, groupId);
    await waitUntil(
      () => worker.engine.snapshot().some((p) => p.pausedFor.includes('breaker')),
      30_000,
      'the provider outage to pause a partition',
    );
    expect(await readAll(`${topic}.dlq`, 1, 1_000)).toEqual([]);
    expect(await messagesTo('frank')).toEqual([]);

    await injectFault(201, 0);
    await waitUntilConsumed(groupId, topic, 90_000);
    expect(new Set((await messagesTo('frank')).map((m) => m.idempotencyKey))).toEqual(
      new Set(events.map((e) => e.eventId)),
    );
    expect(await readAll(`${topic}.dlq`, 1, 1_000)).toEqual([]);
  });

  it('dead-letters a message the provider refuses, with its answer, and goes on', async () => {
    const topic = await eventsTopic('notifier-refused');
    await injectFault(422, 1);
    const events = [decisionEvents.confirmed('gina')];
    await produce(topic, events);
    const groupId = uniqueGroup('notifier-refused');
    await startNotifier(topic, groupId);
    await waitUntilConsumed(groupId, topic);
    const deadLetters = await readAll(`${topic}.dlq`, 1, 20_000);
    expect(deadLetters.map((r) => String(r.headers[deadLetterHeaders.errorCode]))).toEqual([
      'PROVIDER_REJECTED',
    ]);
    expect(String(deadLetters[0]!.headers[deadLetterHeaders.errorMessage])).toMatch(/422/);
  });

  it('dead-letters an event whose id cannot be an idempotency key and goes on, the breaker untouched', async () => {
    const topic = await bench.contractTopic('notifier-bad-id', 'fleet.reservation.events.v1-value', 1);
    // The schema only says "string": ids an HTTP header cannot carry, ahead of healthy events.
    const poisoned = [
      { ...decisionEvents.confirmed('ivan'), eventId: 'evt-\u20ac-1' },
      { ...decisionEvents.confirmed('ivan'), eventId: 'evt\n2' },
    ];
    const healthy = Array.from({ length: 6 }, () => decisionEvents.confirmed('jill'));
    await produce(topic, [...poisoned, ...healthy]);
    const groupId = uniqueGroup('notifier-bad-id');
    const worker = await startNotifier(topic, groupId);
    await waitUntilConsumed(groupId, topic, 30_000);

    const deadLetters = await readAll(`${topic}.dlq`, 2, 20_000);
    expect(deadLetters.map((r) => String(r.headers[deadLetterHeaders.errorCode]))).toEqual([
      'UNNOTIFIABLE_EVENT',
      'UNNOTIFIABLE_EVENT',
    ]);
    expect(String(deadLetters[0]!.headers[deadLetterHeaders.errorMessage])).toMatch(/not a UUID/);
    expect(new Set((await messagesTo('jill')).map((m) => m.idempotencyKey))).toEqual(
      new Set(healthy.map((e) => e.eventId)),
    );
    expect(await messagesTo('ivan')).toEqual([]);
    // Nothing counted against the provider: no failed call, the breaker closed.
    expect(
      await worker.registry.getSingleMetricAsString('fleet_notifier_provider_call_duration_seconds'),
    ).not.toMatch(/outcome="unavailable"/);
    expect((await histogramMean(worker, 'fleet_notifier_provider_call_duration_seconds')).count).toBe(
      healthy.length,
    );
    expect(await worker.registry.getSingleMetricAsString('fleet_breaker_state')).toMatch(
      /fleet_breaker_state\{breaker="provider"[^}]*\} 0$/m,
    );
  });
});
