import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCommand } from '../../workers/reservation-settler/testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  type SettlementDatabase,
} from '../../workers/reservation-settler/testing/settlementDatabase.ts';
import { SettlerKafkaFixture } from '../../workers/reservation-settler/testing/settlerKafkaFixture.ts';
import { uniqueGroup, waitUntil } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { type DecisionWatcher, wallClockMs, watchDecisions } from './decisionWatcher.ts';

let db: SettlementDatabase;
let kafka: SettlerKafkaFixture;
const watchers: DecisionWatcher[] = [];

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 2 });
  kafka = new SettlerKafkaFixture();
});

afterAll(async () => {
  for (const watcher of watchers) await watcher.stop();
  await kafka?.close();
  await db?.close();
});

describe('the P5 decision watcher', () => {
  it('sees each decision with its CreateTime after the decision; only a live watcher times the read', async () => {
    const topics = await kafka.createTopics('p5-watch', 2);
    const [vehicleId] = db.vehicles;
    const first = requestCommand({ vehicleId: vehicleId!, fromHour: 0, toHour: 2 });
    const overlapping = requestCommand({ vehicleId: vehicleId!, fromHour: 1, toHour: 3 });
    const lazy = await watchDecisions(topics.events, 2, 'lazy');
    watchers.push(lazy);
    const live = await watchDecisions(topics.events, 2, 'live');
    watchers.push(live);

    const producedFrom = Date.now();
    await kafka.produceCommands(topics.commands, [first, overlapping]);
    await kafka.startSettler(topics, db.fresh.urls.app, uniqueGroup('p5-watch'));
    await waitUntil(
      async () => lazy.decisions.size === 2 && live.decisions.size === 2,
      30_000,
      'both watchers to see both decisions',
    );
    const readBy = wallClockMs();

    for (const watcher of [lazy, live]) {
      expect(watcher.decisions.get(first.reservationId)?.kind).toBe('ReservationConfirmed');
      expect(watcher.decisions.get(overlapping.reservationId)?.kind).toBe('ReservationRejected');
      expect(watcher.events()).toBe(2);
      for (const seen of watcher.decisions.values()) {
        // The record's CreateTime: stamped by the settler's producer after the decision (whole ms).
        expect(seen.producedAt).toBeGreaterThanOrEqual(producedFrom);
        expect(seen.producedAt + 1).toBeGreaterThanOrEqual(seen.occurredAt);
        expect(seen.producedAt).toBeLessThanOrEqual(readBy);
      }
    }
    for (const seen of lazy.decisions.values()) expect(seen.seenAt).toBeUndefined();
    for (const seen of live.decisions.values()) {
      expect(seen.seenAt).toBeGreaterThanOrEqual(seen.producedAt);
      expect(seen.seenAt).toBeLessThanOrEqual(readBy);
    }
  });
});
