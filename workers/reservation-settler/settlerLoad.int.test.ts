import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueGroup, waitUntil, waitUntilConsumed } from '../runtime/testing/kafkaTestKit.ts';
import { counterTotal } from '../runtime/testing/metricsTestKit.ts';
import type { ReservationRequestCommand, SettlementCommand } from './settlementCommand.ts';
import { settleSerially } from './testing/intervalModel.ts';
import { cancellationCommand, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  recordPendingRequests,
  type SettlementDatabase,
  storedDecisions,
} from './testing/settlementDatabase.ts';
import { SettlerKafkaFixture, settlementsCounted } from './testing/settlerKafkaFixture.ts';

let db: SettlementDatabase;
let kafka: SettlerKafkaFixture;

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 12 });
  kafka = new SettlerKafkaFixture();
});

afterAll(async () => {
  await kafka?.close();
  await db?.close();
});

/** A seeded pseudo-random generator (mulberry32), so a failure can be replayed with the same commands. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Many requests crowding few vehicles' first 200 hours, and some owners cancelling. */
function crowdedCommands(vehicles: readonly string[], count: number, seed: number): SettlementCommand[] {
  const next = random(seed);
  const commands: SettlementCommand[] = [];
  const requests: (SettlementCommand & { kind: 'request' })[] = [];
  for (let i = 0; i < count; i++) {
    if (requests.length > 0 && next() < 0.1) {
      const target = requests[Math.floor(next() * requests.length)]!;
      commands.push(
        cancellationCommand({
          reservationId: target.reservationId,
          vehicleId: target.vehicleId,
          customerId: target.customerId,
        }),
      );
      continue;
    }
    const fromHour = Math.floor(next() * 200);
    const request = requestCommand({
      vehicleId: vehicles[Math.floor(next() * vehicles.length)]!,
      fromHour,
      toHour: fromHour + 1 + Math.floor(next() * 12),
      customerId: `customer-${Math.floor(next() * 50)}`,
    });
    requests.push(request);
    commands.push(request);
  }
  return commands;
}

describe('two settler replicas under concurrent load', () => {
  it('never confirm overlapping periods and decide every request exactly once, as a serial settlement would', async () => {
    const topics = await kafka.createTopics('load', 6);
    const commands = crowdedCommands(db.vehicles, 800, 20260101);
    // Every other request recorded by an ingress first: the fast path's case, mixed with the rest.
    await recordPendingRequests(
      db.app,
      commands
        .filter((c): c is ReservationRequestCommand => c.kind === 'request')
        .filter((_, i) => i % 2 === 0),
    );
    const half = commands.length / 2;
    await kafka.produceCommands(topics.commands, commands.slice(0, half));

    // Same group: the second replica joins while the first is busy, so partitions move mid-stream;
    // the second half arrives once both hold partitions, so both settle part of it.
    const groupId = uniqueGroup('load');
    const env = { CONSUMER_MAX_CONCURRENCY: '16', SETTLER_BATCH_MAX: '8' };
    const first = await kafka.startSettler(topics, db.fresh.urls.app, groupId, env);
    const second = await kafka.startSettler(topics, db.fresh.urls.app, groupId, env);
    await waitUntil(
      () => first.engine.snapshot().length > 0 && second.engine.snapshot().length > 0,
      60_000,
      'both replicas to hold partitions',
    );
    await kafka.produceCommands(topics.commands, commands.slice(half));
    await waitUntilConsumed(groupId, topics.commands, 90_000);
    expect(await settlementsCounted(first)).toBeGreaterThan(0);
    expect(await settlementsCounted(second)).toBeGreaterThan(0);
    const fastPath = 'fleet_settler_fast_path_decisions_total';
    expect((await counterTotal(first, fastPath)) + (await counterTotal(second, fastPath))).toBeGreaterThan(0);

    expect(await overlappingConfirmedPairs(db.app)).toBe(0);
    const requests = commands.filter((c) => c.kind === 'request');
    const stored = await storedDecisions(db.app);
    expect(stored.size).toBe(requests.length);
    expect([...stored.values()].filter((d) => d.status === 'pending')).toEqual([]);
    expect(new Set([...stored.values()].map((d) => d.eventId)).size).toBe(requests.length);

    // Batching, two replicas and a rebalance change nothing: the outcome is the serial one.
    const model = settleSerially(commands);
    const actual = new Map([...stored.values()].map((d) => [d.reservationId, d.status]));
    expect(actual).toEqual(model);
    expect([...model.values()].filter((s) => s === 'rejected').length).toBeGreaterThan(100);

    // One decision event per request (a replay after the rebalance may repeat it, identically).
    const events = await kafka.readEvents(topics.events);
    const requestEvents = new Map<string, Set<string>>();
    for (const read of events) {
      const [type, fields] = Object.entries(read.event.payload)[0]!;
      const { reservationId, rejectedRequest } = fields as {
        reservationId: string;
        rejectedRequest?: string;
      };
      if (type.endsWith('Cancelled') || rejectedRequest === 'cancellation') continue;
      requestEvents.set(
        reservationId,
        (requestEvents.get(reservationId) ?? new Set()).add(read.event.eventId),
      );
    }
    expect(requestEvents.size).toBe(requests.length);
    for (const [reservationId, eventIds] of requestEvents) {
      expect([...eventIds]).toEqual([stored.get(reservationId)?.eventId]);
    }
  });
});
