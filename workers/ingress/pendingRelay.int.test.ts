import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettlerKafkaFixture } from '../reservation-settler/testing/settlerKafkaFixture.ts';
import { uniqueGroup, waitUntil } from '../runtime/testing/kafkaTestKit.ts';
import type { IngressService } from './ingressService.ts';
import { requestedCommandId } from './reservations/reservationCommands.ts';
import {
  closedPort,
  IngressTestEnvironment,
  readCommandsUntil,
  requestedReservationId,
  seededVehicleIds,
} from './testing/ingressTestKit.ts';
import { metricSample } from './testing/metricSample.ts';

// An ingress that died between its insert and its produce leaves a pending row whose command may
// never have reached Kafka. The relay finds such rows and produces their command again.
const world = new IngressTestEnvironment();
const requestedBranch = 'dev.fleetstream.reservation.ReservationRequested';
const manualSweeps = { INGRESS_RELAY_INTERVAL_MS: '0' };

beforeAll(async () => {
  await world.setUp('ingress-relay');
});

afterAll(async () => {
  await world.close();
});

/** Inserts a pending row as an ingress would, `ageSeconds` old, as if its process died right after. */
async function orphanedPendingRow(
  ageSeconds: number,
  options: { idempotencyKey?: string; status?: 'rejected' } = {},
) {
  const row = {
    reservationId: randomUUID(),
    customerId: `orphan-${randomUUID()}`,
    vehicleId: seededVehicleIds[3] as string,
    startsAt: new Date(Date.now() + 10 * 86_400_000 + Math.floor(Math.random() * 1e9)),
  };
  const endsAt = new Date(row.startsAt.getTime() + 3_600_000);
  await world.owner.query(
    `INSERT INTO fleet.reservation_requests
       (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash, created_at)
     VALUES ($1, $2, $3, tstzrange($4, $5, '[)'), $6, $7, now() - make_interval(secs => $8))`,
    [
      row.reservationId,
      row.customerId,
      row.vehicleId,
      row.startsAt.toISOString(),
      endsAt.toISOString(),
      options.idempotencyKey ?? null,
      Buffer.alloc(32),
      ageSeconds,
    ],
  );
  if (options.status === 'rejected') {
    await world.owner.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'overlap', decided_at = now()
        WHERE reservation_id = $1`,
      [row.reservationId],
    );
  }
  return { ...row, endsAt };
}

async function relayState(reservationId: string) {
  const result = await world.owner.query<{ relay_count: number; relayed: boolean; status: string }>(
    `SELECT relay_count, relayed_at IS NOT NULL AS relayed, status
       FROM fleet.reservation_requests WHERE reservation_id = $1`,
    [reservationId],
  );
  return result.rows[0];
}

describe('the pending-request relay', () => {
  let service: IngressService;

  beforeAll(async () => {
    ({ service } = await world.start({ ...manualSweeps, INGRESS_RELAY_PENDING_AFTER_S: '60' }));
  });

  it('re-produces the command of a stale pending row — same command id, same data — and only of that row', async () => {
    const stale = await orphanedPendingRow(300, { idempotencyKey: 'retry-me' });
    const fresh = await orphanedPendingRow(5);
    const decided = await orphanedPendingRow(300, { status: 'rejected' });

    const sweep = await service.ingress.relay.sweepOnce();
    expect(sweep).toEqual({ claimed: 1, published: 1, failed: 0 });

    const records = await readCommandsUntil(world.topic, world.registry, (read) =>
      read.some((r) => requestedReservationId(r) === stale.reservationId),
    );
    const relayed = records.filter((r) => requestedReservationId(r) === stale.reservationId);
    expect(relayed).toHaveLength(1);
    const record = relayed[0]!;
    expect(record.key).toBe(stale.vehicleId);
    expect(record.headers['correlation-id']).toBe(`relay-${stale.reservationId}`);
    expect(record.value).toMatchObject({
      commandId: requestedCommandId(stale.reservationId),
      payload: {
        [requestedBranch]: {
          reservationId: stale.reservationId,
          customerId: stale.customerId,
          vehicleId: stale.vehicleId,
          startsAt: stale.startsAt.getTime(),
          endsAt: stale.endsAt.getTime(),
          idempotencyKey: 'retry-me',
        },
      },
    });
    // Nothing else was relayed: the young row is inside its own produce window, the decided one is done.
    const relayedIds = records.map(requestedReservationId);
    expect(relayedIds).not.toContain(fresh.reservationId);
    expect(relayedIds).not.toContain(decided.reservationId);

    expect(await relayState(stale.reservationId)).toEqual({
      relay_count: 1,
      relayed: true,
      status: 'pending',
    });
    expect(await relayState(fresh.reservationId)).toEqual({
      relay_count: 0,
      relayed: false,
      status: 'pending',
    });
    const metrics = await service.ingress.app.inject({ method: 'GET', url: '/metrics' });
    expect(metricSample(metrics.body, 'fleet_ingress_relayed_requests_total', { outcome: 'published' })).toBe(
      1,
    );
  });

  it('does not relay a row again before the repeat interval', async () => {
    const stale = await orphanedPendingRow(600);
    expect((await service.ingress.relay.sweepOnce()).claimed).toBe(1);
    expect((await service.ingress.relay.sweepOnce()).claimed).toBe(0);
    expect((await relayState(stale.reservationId))?.relay_count).toBe(1);
  });

  it('lets two instances sweep at once without claiming the same row twice', async () => {
    const rows = await Promise.all(Array.from({ length: 12 }, () => orphanedPendingRow(120)));
    const { service: second } = await world.start({ ...manualSweeps, INGRESS_RELAY_BATCH: '5' });
    const sweeps = await Promise.all([
      service.ingress.relay.sweepOnce(),
      second.ingress.relay.sweepOnce(),
      second.ingress.relay.sweepOnce(),
    ]);
    // The second instance's two calls share one sweep (a sweep never overlaps itself).
    const claimed = sweeps[0].claimed + sweeps[1].claimed;
    const again = await second.ingress.relay.sweepOnce();
    expect(claimed + again.claimed + (await service.ingress.relay.sweepOnce()).claimed).toBe(rows.length);
    for (const row of rows) expect((await relayState(row.reservationId))?.relay_count).toBe(1);
  });

  it('claims nothing while the broker is unreachable, so the rows wait for it', async () => {
    const stale = await orphanedPendingRow(300);
    const { service: cutOff } = await world.start(
      { ...manualSweeps, KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${await closedPort()}` },
      { waitForProducer: false },
    );
    expect(await cutOff.ingress.relay.sweepOnce()).toEqual({ claimed: 0, published: 0, failed: 0 });
    expect((await relayState(stale.reservationId))?.relay_count).toBe(0);
  });
});

describe('the relay and the settler together', () => {
  const kafka = new SettlerKafkaFixture();

  afterAll(async () => {
    await kafka.close();
  });

  it('gets an orphaned request decided: the relayed command is settled once and announced', async () => {
    const topics = await kafka.createTopics('relay-e2e', 2);
    const { service } = await world.start({
      ...manualSweeps,
      RESERVATION_COMMANDS_TOPIC: topics.commands,
    });
    await kafka.startSettler(topics, world.database.urls.app, uniqueGroup('relay-e2e'));
    const orphan = await orphanedPendingRow(900);

    expect((await service.ingress.relay.sweepOnce()).published).toBeGreaterThanOrEqual(1);
    await waitUntil(
      async () => (await relayState(orphan.reservationId))?.status !== 'pending',
      30_000,
      'the relayed request to be decided',
    );
    expect((await relayState(orphan.reservationId))?.status).toBe('confirmed');
    await waitUntil(
      async () =>
        (await kafka.readEvents(topics.events)).some((e) =>
          JSON.stringify(e.event).includes(orphan.reservationId),
        ),
      30_000,
      'the decision event',
    );
    const events = (await kafka.readEvents(topics.events)).filter((e) =>
      JSON.stringify(e.event).includes(orphan.reservationId),
    );
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]?.event)).toContain('ReservationConfirmed');
    // Decided: no later sweep claims it again.
    expect((await relayState(orphan.reservationId))?.relay_count).toBe(1);
    await service.ingress.relay.sweepOnce();
    expect((await relayState(orphan.reservationId))?.relay_count).toBe(1);
  });
});

describe('relay configuration', () => {
  it('refuses a staleness threshold inside twice the produce timeout, naming the variable', () => {
    expect(() =>
      world.config({ INGRESS_RELAY_PENDING_AFTER_S: '5', INGRESS_PRODUCE_TIMEOUT_MS: '5000' }),
    ).toThrow(/INGRESS_RELAY_PENDING_AFTER_S/);
  });
});
