import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueGroup, waitUntilConsumed } from '../runtime/testing/kafkaTestKit.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import { cancellationCommand, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  type SettlementDatabase,
} from './testing/settlementDatabase.ts';
import { type ReadEvent, SettlerKafkaFixture } from './testing/settlerKafkaFixture.ts';

let db: SettlementDatabase;
let kafka: SettlerKafkaFixture;

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 8 });
  kafka = new SettlerKafkaFixture();
});

afterAll(async () => {
  await kafka?.close();
  await db?.close();
});

/** Everything the database decided, as a comparable snapshot. */
async function decisionSnapshot(): Promise<unknown[]> {
  const rows = await db.app.query(
    `SELECT r.reservation_id, r.status, r.decided_status, r.decision_reason, r.decision_event_id, r.decided_at,
            r.decided_offset, r.cancelled_at, b.status AS booking
       FROM fleet.reservation_requests r LEFT JOIN fleet.reservations b ON b.id = r.reservation_id
      ORDER BY r.reservation_id`,
  );
  const cancellations = await db.app.query('SELECT * FROM fleet.cancellation_decisions ORDER BY command_id');
  return [...rows.rows, ...cancellations.rows];
}

/** Commands on 4 vehicles: overlaps, back-to-back periods, owner and stranger cancellations, rebookings. */
function mixedCommands(vehicles: readonly string[]): SettlementCommand[] {
  return vehicles.flatMap((vehicleId, v) => {
    const first = requestCommand({ vehicleId, fromHour: 0, toHour: 10, customerId: `owner-${v}` });
    return [
      first,
      requestCommand({ vehicleId, fromHour: 5, toHour: 15 }),
      requestCommand({ vehicleId, fromHour: 10, toHour: 12 }),
      cancellationCommand({ reservationId: first.reservationId, vehicleId, customerId: 'stranger' }),
      cancellationCommand({ reservationId: first.reservationId, vehicleId, customerId: `owner-${v}` }),
      requestCommand({ vehicleId, fromHour: 2, toHour: 8 }),
      requestCommand({ vehicleId, fromHour: 7, toHour: 11 }),
    ];
  });
}

describe('replaying reservation commands', () => {
  it('re-feeding the same commands, and a fresh consumer group over them, re-emit the same events and decide nothing new', async () => {
    const topics = await kafka.createTopics('replay', 2);
    const commands = mixedCommands(db.vehicles.slice(0, 4));
    await kafka.produceCommands(topics.commands, commands);
    const groupId = uniqueGroup('replay');
    await kafka.startSettler(topics, db.fresh.urls.app, groupId);
    await waitUntilConsumed(groupId, topics.commands);
    const firstPass = await kafka.readEvents(topics.events);
    expect(firstPass).toHaveLength(commands.length);
    const decisions = await decisionSnapshot();

    // The same commands produced again (a producer retry, a relay), then a new group over the whole log.
    await kafka.produceCommands(topics.commands, commands);
    await waitUntilConsumed(groupId, topics.commands);
    const freshGroup = uniqueGroup('replay-fresh');
    await kafka.startSettler(topics, db.fresh.urls.app, freshGroup);
    await waitUntilConsumed(freshGroup, topics.commands);

    const allEvents = await kafka.readEvents(topics.events);
    // 1 original + 1 for the re-produced copy + 2 from the fresh group (original and copy) per command.
    expect(allEvents).toHaveLength(commands.length * 4);
    const original = new Map(firstPass.map((e) => [e.event.eventId, e.event]));
    const byId = new Map<string, ReadEvent[]>();
    for (const read of allEvents)
      byId.set(read.event.eventId, [...(byId.get(read.event.eventId) ?? []), read]);
    expect([...byId.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [eventId, copies] of byId) {
      expect(copies).toHaveLength(4);
      for (const copy of copies) expect(copy.event).toEqual(original.get(eventId));
    }
    // Per vehicle, the replays came in the original order: each re-emission repeats the first pass's sequence.
    for (const vehicleId of db.vehicles.slice(0, 4)) {
      const sequence = allEvents.filter((e) => e.key === vehicleId).map((e) => e.event.eventId);
      const firstSequence = firstPass.filter((e) => e.key === vehicleId).map((e) => e.event.eventId);
      expect(sequence).toEqual([...firstSequence, ...firstSequence, ...firstSequence, ...firstSequence]);
    }
    expect(await decisionSnapshot()).toEqual(decisions);
    expect(await overlappingConfirmedPairs(db.app)).toBe(0);
  });
});
