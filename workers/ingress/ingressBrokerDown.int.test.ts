import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAvroSchemaFile } from '../../schemas/avroSchemaFile.ts';
import { findSubjectDefinition } from '../../schemas/subjects.ts';
import type { IngressService } from './ingressService.ts';
import {
  closedPort,
  findCommand,
  IngressTestEnvironment,
  requestedReservationId,
  seededVehicleIds,
  waitFor,
} from './testing/ingressTestKit.ts';
import { metricSample } from './testing/metricSample.ts';

// Kafka unavailable: never 202, always 503 + Retry-After, and no pending reservation left behind.
const world = new IngressTestEnvironment();
const day = 86_400_000;
const extraSubjects: string[] = [];

beforeAll(async () => {
  await world.setUp('ingress-broker-down');
});

afterAll(async () => {
  for (const subject of extraSubjects) await world.registry.deleteSubject(subject, { permanent: false });
  await world.close();
});

function reserve(
  service: IngressService,
  token: string,
  offsetDays: number,
  headers: Record<string, string> = {},
  start = Date.now() + offsetDays * day,
) {
  return service.ingress.app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    payload: {
      vehicleId: seededVehicleIds[offsetDays % seededVehicleIds.length],
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + day).toISOString(),
    },
  });
}

function expectUnavailable(response: LightMyRequestResponse) {
  expect(response.statusCode).toBe(503);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({
    type: 'https://fleetstream.dev/problems/service-unavailable',
    status: 503,
  });
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(response.headers['ratelimit-policy']).toBeDefined();
}

async function rowsOf(customerId: string) {
  return (
    await world.owner.query<{
      status: string;
      decision_reason: string | null;
      idempotency_key: string | null;
    }>(
      'SELECT status, decision_reason, idempotency_key FROM fleet.reservation_requests WHERE customer_id = $1 ORDER BY created_at',
      [customerId],
    )
  ).rows;
}

describe('broker unreachable (producer pointed at a closed port)', () => {
  it('starts anyway, is not ready, and answers 503 + Retry-After without writing anything', async () => {
    const port = await closedPort();
    const { service } = await world.start(
      {
        KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${port}`,
        KAFKA_PRODUCER_CONNECT_TIMEOUT_MS: '500',
        INGRESS_BREAKER_RESET_MS: '7000',
      },
      { waitForProducer: false },
    );
    const ready = await service.ingress.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ type: 'https://fleetstream.dev/problems/not-ready' });
    expect(ready.json().checks.producer.ok).toBe(false);

    const subject = `stranded-${randomUUID()}`;
    const token = await world.token(subject);
    const response = await reserve(service, token, 3);
    expectUnavailable(response);
    expect(response.headers['retry-after']).toBe('7');
    expect(await rowsOf(subject)).toEqual([]);

    const existing = (
      await world.owner.query(
        `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
         VALUES ($1, $2, $3, tstzrange(now() + interval '5 days', now() + interval '6 days'), $4) RETURNING reservation_id`,
        [randomUUID(), subject, seededVehicleIds[0], Buffer.alloc(32)],
      )
    ).rows[0].reservation_id;
    const cancel = await service.ingress.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${existing}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expectUnavailable(cancel);

    const metrics = (await service.ingress.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricSample(metrics, 'fleet_ingress_enqueue_failures_total', { reason: 'not_connected' })).toBe(
      2,
    );
  });
});

describe('a retry with its Idempotency-Key while the broker is unreachable', () => {
  it('gets its first answer when nothing needs producing, and 503 while its command may still be missing', async () => {
    const { service: healthy } = await world.start();
    const subject = `retrying-${randomUUID()}`;
    const token = await world.token(subject);
    const start = Date.now() + 4 * day;
    const place = (service: IngressService, key: string, vehicleId: string) =>
      service.ingress.app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        payload: {
          vehicleId,
          startsAt: new Date(start).toISOString(),
          endsAt: new Date(start + day).toISOString(),
        },
      });
    const decidedKey = `decided-${randomUUID()}`;
    const pendingKey = `pending-${randomUUID()}`;
    const decided = await place(healthy, decidedKey, seededVehicleIds[1]!);
    const pending = await place(healthy, pendingKey, seededVehicleIds[2]!);
    expect([decided.statusCode, pending.statusCode]).toEqual([202, 202]);
    // The settler decided the first one meanwhile (no settler runs here: decided by hand).
    await world.owner.query(
      `UPDATE fleet.reservation_requests
          SET status = 'rejected', decided_status = 'rejected', decision_reason = 'overlap', decided_at = now(),
              decision_event_id = gen_random_uuid()
        WHERE reservation_id = $1`,
      [decided.json().reservationId],
    );

    const port = await closedPort();
    const { service: cutOff } = await world.start(
      { KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${port}`, KAFKA_PRODUCER_CONNECT_TIMEOUT_MS: '500' },
      { waitForProducer: false },
    );
    const replayed = await place(cutOff, decidedKey, seededVehicleIds[1]!);
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json().reservationId).toBe(decided.json().reservationId);
    // Still pending: the first command may never have reached Kafka, so this retry must produce it.
    expectUnavailable(await place(cutOff, pendingKey, seededVehicleIds[2]!));
    // The same key with another body is not a retry: refused as any new request would be.
    expectUnavailable(await place(cutOff, decidedKey, seededVehicleIds[3]!));
    expect(await rowsOf(subject)).toHaveLength(2);
  });
});

describe('produce fails after the pending row was written', () => {
  let service: IngressService;
  let missingTopic: string;

  beforeAll(async () => {
    // A topic that does not exist (auto-creation is off) with its subject registered: the value
    // encodes, the broker refuses the record. The breaker needs 3 calls before it judges.
    missingTopic = world.topics.missingName('ingress-no-topic');
    const definition = findSubjectDefinition('fleet.reservation.commands.v1-value');
    if (!definition) throw new Error('commands subject missing');
    const subject = `${missingTopic}-value`;
    extraSubjects.push(subject);
    await world.registry.register(
      subject,
      readAvroSchemaFile(definition.schemaFile).canonicalText,
      definition.compatibility,
    );
    ({ service } = await world.start({
      RESERVATION_COMMANDS_TOPIC: missingTopic,
      KAFKA_PRODUCER_TOPIC_METADATA_PROPAGATION_MS: '300',
      INGRESS_BREAKER_VOLUME: '3',
      INGRESS_BREAKER_RESET_MS: '60000',
    }));
  });

  it('withdraws the row in the same request (rejected, enqueue_failed, key freed) and answers 503; the retry is a new attempt', async () => {
    const subject = `unlucky-${randomUUID()}`;
    const token = await world.token(subject);
    const key = { 'idempotency-key': `retry-${randomUUID()}` };
    const first = await reserve(service, token, 4, key);
    expectUnavailable(first);
    expect(await rowsOf(subject)).toEqual([
      { status: 'rejected', decision_reason: 'enqueue_failed', idempotency_key: null },
    ]);

    // The same key again is not pinned to the failure: a new attempt, failing the same way.
    const retry = await reserve(service, token, 4, key);
    expectUnavailable(retry);
    const rows = await rowsOf(subject);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.status === 'rejected' && row.idempotency_key === null)).toBe(true);
    // Withdrawn requests do not use up the customer's quota.
    const open = await world.owner.query(
      `SELECT count(*)::int AS n FROM fleet.reservation_requests WHERE customer_id = $1 AND status = 'pending'`,
      [subject],
    );
    expect(open.rows[0].n).toBe(0);
  });

  it('opens the breaker after repeated failures and then refuses at once, before touching the database', async () => {
    const subject = `after-open-${randomUUID()}`;
    const token = await world.token(subject);
    // Third failure in the window: the breaker judges and opens.
    expectUnavailable(await reserve(service, token, 5));
    expect(service.ingress.publisher.health()).toEqual({
      ok: false,
      reason: 'kafka-produce circuit breaker is open',
    });
    const before = (await rowsOf(subject)).length;
    const refused = await reserve(service, token, 6);
    expectUnavailable(refused);
    expect(refused.headers['retry-after']).toBe('60');
    expect(await rowsOf(subject)).toHaveLength(before);
    const metrics = (await service.ingress.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricSample(metrics, 'fleet_ingress_enqueue_failures_total', { reason: 'broker' })).toBe(3);
    expect(metricSample(metrics, 'fleet_ingress_enqueue_failures_total', { reason: 'breaker_open' })).toBe(1);
    expect(metricSample(metrics, 'fleet_breaker_state', { breaker: 'kafka-produce' })).toBe(2);
    expect(
      metricSample(metrics, 'http_requests_total', {
        route: '/v1/reservations',
        method: 'POST',
        status: '202',
      }),
    ).toBeUndefined();
    const ready = await service.ingress.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
  });

  it('leaves the row pending for a retry that claimed it meanwhile: the retry answers 202, the first attempt 503', async () => {
    // The first attempt's produce fails slowly (the broker waits 2 s for the missing topic); its
    // retry, on a healthy instance, replays the pending row within that window.
    const { service: slowToFail } = await world.start({
      RESERVATION_COMMANDS_TOPIC: missingTopic,
      KAFKA_PRODUCER_TOPIC_METADATA_PROPAGATION_MS: '2000',
    });
    const { service: healthy } = await world.start();
    const subject = `raced-${randomUUID()}`;
    const token = await world.token(subject);
    const key = { 'idempotency-key': `race-${randomUUID()}` };
    const start = Date.now() + 7 * day;
    const firstAttempt = reserve(slowToFail, token, 7, key, start);
    await waitFor(async () => (await rowsOf(subject)).length === 1, 10_000);
    const retry = await reserve(healthy, token, 7, key, start);
    expect(retry.statusCode).toBe(202);
    const first = await firstAttempt;
    expectUnavailable(first);

    // The 202 stands: the row is still pending under its key (for the settler to decide), and the
    // retry's command is in Kafka.
    expect(await rowsOf(subject)).toEqual([
      { status: 'pending', decision_reason: null, idempotency_key: key['idempotency-key'] },
    ]);
    const reservationId = retry.json().reservationId;
    const command = await findCommand(
      world.topic,
      world.registry,
      (record) => requestedReservationId(record) === reservationId,
    );
    expect(command.headers['correlation-id']).toBe(retry.headers['x-request-id']);
    const claims = await world.owner.query(
      'SELECT relay_count FROM fleet.reservation_requests WHERE reservation_id = $1',
      [reservationId],
    );
    expect(claims.rows[0].relay_count).toBe(1);
  });
});

describe('schema subject missing', () => {
  it('answers 503 and withdraws the row when the value cannot be encoded for lack of a registered subject', async () => {
    const topic = await world.topics.create('ingress-no-subject', 1);
    const { service } = await world.start({ RESERVATION_COMMANDS_TOPIC: topic });
    const subject = `nosubject-${randomUUID()}`;
    const response = await reserve(service, await world.token(subject), 7);
    expectUnavailable(response);
    expect(await rowsOf(subject)).toEqual([
      { status: 'rejected', decision_reason: 'enqueue_failed', idempotency_key: null },
    ]);
  });
});
