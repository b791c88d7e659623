import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterHeaders } from '../runtime/resilience/deadLetterRecord.ts';
import {
  produceRecords,
  readAll,
  testWorkerEnv,
  uniqueGroup,
  waitUntil,
  waitUntilConsumed,
} from '../runtime/testing/kafkaTestKit.ts';
import { counterTotal } from '../runtime/testing/metricsTestKit.ts';
import { WorkerTestBench } from '../runtime/testing/workerTestBench.ts';
import { createLedgerWorker } from './ledgerWorker.ts';
import {
  createLedgerDatabase,
  type LedgerDatabase,
  ledgerImbalance,
  ledgerRowCounts,
  trialBalance,
} from './testing/ledgerDatabase.ts';
import { rentalEvents, rentalIdOf, rentalLife, republished } from './testing/rentalEvents.ts';

const bench = new WorkerTestBench();
let db: LedgerDatabase;

beforeAll(async () => {
  db = await createLedgerDatabase();
});

afterAll(async () => {
  await bench.close();
  await db?.close();
});

const rentalTopic = (purpose: string) => bench.contractTopic(purpose, 'fleet.rental.events.v1-value');

async function startLedger(topic: string, groupId: string, env: Record<string, string> = {}) {
  const workerEnv = testWorkerEnv({
    DATABASE_URL: db.fresh.urls.app,
    RENTAL_EVENTS_TOPIC: topic,
    LEDGER_GROUP_ID: groupId,
    ...env,
  });
  return bench.start(createLedgerWorker(workerEnv), workerEnv);
}

describe('the rental ledger on Kafka and PostgreSQL', () => {
  it('books every rental in balanced sets, dead-letters what it cannot post, and posts nothing twice on replay', async () => {
    const topic = await rentalTopic('ledger');
    const lives = Array.from({ length: 12 }, (_, i) => rentalLife(10_000 + i * 100, 500 + i));
    const good = lives.flat();
    const resent = republished(good[1]!); // upstream announces the first charge again
    const unknownPaymentRefund = rentalEvents.refund({
      rentalId: randomUUID(),
      paymentId: randomUUID(),
      amountMinor: 1,
    });
    await bench.produce(topic, [...good, resent, unknownPaymentRefund], rentalIdOf);
    const miskeyed = rentalEvents.started(randomUUID());
    await produceRecords(topic, [
      { key: randomUUID(), value: await bench.serde.encode(`${topic}-value`, miskeyed as never) },
      { key: randomUUID(), value: Buffer.from('not avro at all') },
    ]);

    const groupId = uniqueGroup('ledger');
    const worker = await startLedger(topic, groupId);
    await waitUntilConsumed(groupId, topic);

    const charged = lives.reduce((sum, _life, i) => sum + 10_000 + i * 100, 0);
    const refunded = lives.reduce((sum, _life, i) => sum + 500 + i, 0);
    expect(await trialBalance(db.app)).toEqual(
      new Map([
        ['assets:payment_clearing EUR', charged - refunded],
        ['liabilities:customer_deposits EUR', 0],
        ['revenue:rental EUR', -(charged - refunded)],
      ]),
    );
    expect(await ledgerImbalance(db.app)).toEqual(new Map([['EUR', 0]]));
    const counts = await ledgerRowCounts(db.app);
    expect(counts).toEqual({
      events: good.length + 1,
      postings: 2 * 4 * lives.length,
      payments: 24,
      refunds: 24,
    });
    expect(await counterTotal(worker, 'fleet_ledger_events_total')).toBe(good.length + 1);

    const deadLetters = await readAll(`${topic}.dlq`, 3, 20_000);
    const codes = deadLetters.map((r) => String(r.headers[deadLetterHeaders.errorCode])).sort();
    expect(codes).toEqual(['AVRO_NOT_WIRE_FORMAT', 'INVALID_RENTAL_EVENT', 'REFUND_OF_UNKNOWN_PAYMENT']);
    expect(deadLetters.map((r) => String(r.headers[deadLetterHeaders.errorClass])).sort()).toEqual([
      'AvroPoisonMessageError',
      'InvalidRentalEventError',
      'LedgerRefusalError',
    ]);

    // A fresh group over the same topic (a reset, a new replica set): every event is recognised.
    await worker.stop();
    const replayGroup = uniqueGroup('ledger-replay');
    const replay = await startLedger(topic, replayGroup);
    await waitUntilConsumed(replayGroup, topic);
    expect(await ledgerRowCounts(db.app)).toEqual(counts);
    expect(await counterTotal(replay, 'fleet_ledger_events_total')).toBe(good.length + 1);
    const metrics = await replay.registry.getSingleMetricAsString('fleet_ledger_events_total');
    // Every series the replay counted is a replay: nothing posted, recorded or deduplicated anew.
    expect(metrics).toMatch(/outcome="replayed"/);
    expect(metrics).not.toMatch(/outcome="(posted|no_posting|duplicate)"/);
  });

  it('pauses instead of dead-lettering while PostgreSQL cannot be reached', async () => {
    const topic = await rentalTopic('ledger-pg-down');
    const rentalId = randomUUID();
    await bench.produce(topic, [rentalEvents.payment({ rentalId, amountMinor: 100 })], rentalIdOf);
    const unreachable = new URL(db.fresh.urls.app);
    unreachable.port = '1'; // nothing listens there: every connection is refused
    const worker = await startLedger(topic, uniqueGroup('ledger-pg-down'), {
      DATABASE_URL: unreachable.toString(),
    });
    await waitUntil(
      () => worker.engine.snapshot().some((p) => p.pausedFor.includes('breaker')),
      30_000,
      'the postgres breaker to pause the partition',
    );
    expect(await readAll(`${topic}.dlq`, 1, 1_000)).toEqual([]);
    expect(await counterTotal(worker, 'fleet_ledger_events_total')).toBe(0);
  });
});
