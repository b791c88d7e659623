import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterHeaders } from '../runtime/resilience/deadLetterRecord.ts';
import {
  createTopics,
  deleteTopics,
  readAll,
  recordCount,
  uniqueGroup,
  waitUntil,
  waitUntilConsumed,
} from '../runtime/testing/kafkaTestKit.ts';
import { counterTotal } from '../runtime/testing/metricsTestKit.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import { cancellationCommand, commandValue, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  type SettlementDatabase,
  storedDecisions,
} from './testing/settlementDatabase.ts';
import { type ReadEvent, SettlerKafkaFixture } from './testing/settlerKafkaFixture.ts';

let db: SettlementDatabase;
let kafka: SettlerKafkaFixture;

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 10 });
  kafka = new SettlerKafkaFixture();
});

afterAll(async () => {
  await kafka?.close();
  await db?.close();
});

/** The payload branch of an event: [type name, fields]. */
function payloadOf(read: ReadEvent): [string, Record<string, unknown>] {
  const [type, fields] = Object.entries(read.event.payload)[0]!;
  return [type.replace('dev.fleetstream.reservation.', ''), fields as Record<string, unknown>];
}

describe('the reservation settler on Kafka and PostgreSQL', () => {
  it('settles every kind of command, serially per vehicle, with events that agree with the database', async () => {
    const topics = await kafka.createTopics('settler', 3);
    const [a, b, c] = db.vehicles;
    // Vehicle a: five requests that all overlap [0,10); the first one in the log wins.
    const overlapping = [0, 1, 2, 3, 4].map((i) =>
      requestCommand({ vehicleId: a!, fromHour: i, toHour: 10 + i }),
    );
    // Vehicle b: back-to-back periods share an instant but do not overlap.
    const backToBack = [
      requestCommand({ vehicleId: b!, fromHour: 0, toHour: 10 }),
      requestCommand({ vehicleId: b!, fromHour: 10, toHour: 20 }),
    ];
    const unknownVehicle = requestCommand({ vehicleId: randomUUID(), fromHour: 0, toHour: 5 });
    const retiredVehicle = requestCommand({ vehicleId: db.retiredVehicle, fromHour: 0, toHour: 5 });
    // Vehicle c: a stranger cannot cancel alice's booking; alice can, and the period is free again.
    const alices = requestCommand({ vehicleId: c!, fromHour: 0, toHour: 10, customerId: 'alice' });
    const strangerCancels = cancellationCommand({
      reservationId: alices.reservationId,
      vehicleId: c!,
      customerId: 'mallory',
    });
    const carolTooEarly = requestCommand({ vehicleId: c!, fromHour: 5, toHour: 8, customerId: 'carol' });
    const aliceCancels = cancellationCommand({
      reservationId: alices.reservationId,
      vehicleId: c!,
      customerId: 'alice',
    });
    const carolAfterwards = requestCommand({ vehicleId: c!, fromHour: 5, toHour: 8, customerId: 'carol' });
    const vehicleC = [alices, strangerCancels, carolTooEarly, aliceCancels, carolAfterwards];
    const all: SettlementCommand[] = [
      ...overlapping,
      ...backToBack,
      unknownVehicle,
      retiredVehicle,
      ...vehicleC,
    ];
    await kafka.produceCommands(topics.commands, all);
    // A command keyed by something other than its vehicle breaks the contract: dead-lettered, nothing decided.
    const miskeyed = requestCommand({ vehicleId: db.vehicles[3]!, fromHour: 0, toHour: 1 });
    await kafka.produceRaw(topics.commands, [
      { key: 'not-the-vehicle', value: await kafka.encodeCommand(topics.commands, commandValue(miskeyed)) },
    ]);
    // A command that carries the ingress's trace context: its decision event continues that trace.
    const traceId = randomUUID().replaceAll('-', '');
    const traced = requestCommand({ vehicleId: db.vehicles[4]!, fromHour: 0, toHour: 1 });
    await kafka.produceRaw(topics.commands, [
      {
        key: traced.vehicleId,
        value: await kafka.encodeCommand(topics.commands, commandValue(traced)),
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      },
    ]);
    all.push(traced);

    const groupId = uniqueGroup('settler');
    await kafka.startSettler(topics, db.fresh.urls.app, groupId);
    await waitUntilConsumed(groupId, topics.commands);

    const events = await kafka.readEvents(topics.events);
    expect(events).toHaveLength(all.length);
    const byCause = new Map(events.map((e) => [e.event.causationId, e]));
    const outcome = (command: SettlementCommand) => {
      const read = byCause.get(command.commandId);
      if (!read) throw new Error(`no event for command ${command.commandId}`);
      const [type, fields] = payloadOf(read);
      return type === 'ReservationRejected'
        ? `rejected:${fields.reason}`
        : type.replace('Reservation', '').toLowerCase();
    };
    expect(overlapping.map(outcome)).toEqual(['confirmed', ...Array(4).fill('rejected:overlap')]);
    expect(backToBack.map(outcome)).toEqual(['confirmed', 'confirmed']);
    expect([unknownVehicle, retiredVehicle].map(outcome)).toEqual([
      'rejected:unknown_vehicle',
      'rejected:unknown_vehicle',
    ]);
    expect(vehicleC.map(outcome)).toEqual([
      'confirmed',
      'rejected:not_found',
      'rejected:overlap',
      'cancelled',
      'confirmed',
    ]);

    // Every event: keyed by its vehicle, its id in the header, and what the database stored.
    const stored = await storedDecisions(db.app);
    for (const read of events) {
      const [type, fields] = payloadOf(read);
      expect(read.key).toBe(fields.vehicleId);
      expect(read.eventIdHeader).toBe(read.event.eventId);
      // The traced command's event continues its trace; the others start a root of their own.
      const expectedTrace =
        read.event.causationId === traced.commandId
          ? `00-${traceId}-00f067aa0ba902b7-01`
          : /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;
      expect(read.traceparent).toMatch(expectedTrace);
      if (type === 'ReservationCancelled' || fields.rejectedRequest === 'cancellation') continue;
      const decision = stored.get(fields.reservationId as string);
      expect(decision?.eventId).toBe(read.event.eventId);
      expect(decision?.decidedStatus).toBe(type === 'ReservationConfirmed' ? 'confirmed' : 'rejected');
    }
    expect(stored.get(alices.reservationId)).toMatchObject({
      status: 'cancelled',
      decidedStatus: 'confirmed',
    });
    expect(stored.has(miskeyed.reservationId)).toBe(false);
    expect([...stored.values()].filter((d) => d.status === 'pending')).toEqual([]);
    expect(await overlappingConfirmedPairs(db.app)).toBe(0);

    const deadLetters = await readAll(topics.deadLetters, 1, 20_000);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.headers[deadLetterHeaders.errorClass]).toBe('InvalidCommandError');
  });

  it('keeps a decided command (no dead letter, retried) while its events topic does not exist, and emits the stored decision once it does', async () => {
    const topics = await kafka.createTopics('settler-no-events', 1);
    await deleteTopics([topics.events]);
    const command = requestCommand({ vehicleId: db.vehicles[5]!, fromHour: 0, toHour: 2 });
    await kafka.produceCommands(topics.commands, [command]);
    const worker = await kafka.startSettler(topics, db.fresh.urls.app, uniqueGroup('settler-no-events'), {
      KAFKA_PRODUCER_TOPIC_METADATA_PROPAGATION_MS: '300',
    });
    // Decided and stored, but the event has nowhere to go: kept and retried, never dead-lettered.
    await waitUntil(
      async () => (await storedDecisions(db.app)).get(command.reservationId)?.status === 'confirmed',
      30_000,
      'the decision to be stored',
    );
    // Long enough for many probes (retries every 20–200 ms here), each of which used to be
    // dead-lettered at once: the command stays in front of its partition instead.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await recordCount(topics.deadLetters)).toBe(0);
    expect(await counterTotal(worker, 'fleet_consumer_dead_letters_total')).toBe(0);

    await createTopics([{ topic: topics.events, partitions: 1 }]);
    await waitUntil(async () => (await recordCount(topics.events)) === 1, 30_000, 'the decision event');
    const [read] = await kafka.readEvents(topics.events);
    expect(payloadOf(read!)[0]).toBe('ReservationConfirmed');
    expect(read!.event.eventId).toBe((await storedDecisions(db.app)).get(command.reservationId)?.eventId);
    expect(await recordCount(topics.deadLetters)).toBe(0);
  });
});
