import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideReservationRequests } from '../../db/queries/settlement/decideReservationRequests.ts';
import type { PreparedQueryable } from '../../db/queries/settlement/preparedQueryable.ts';
import { settleMatchingPendingRequests } from '../../db/queries/settlement/settleMatchingPendingRequests.ts';
import { inReadCommittedTransaction } from '../../db/readCommittedTransaction.ts';
import { matchingRequestInput, settleCommandBatch } from './settleCommandBatch.ts';
import { settleReservationBatch } from './settleReservationBatch.ts';
import { createSettlerPool, settlerSessionSettings } from './settlerPool.ts';
import { cancellationCommand, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  recordPendingRequests,
  type SettlementDatabase,
} from './testing/settlementDatabase.ts';

let db: SettlementDatabase;
let pool: pg.Pool;
const clock = { nowMs: Date.now, newEventId: randomUUID };

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 20 });
  // One session, so the plans cached below are the ones explained afterwards.
  pool = createSettlerPool({
    connectionString: db.fresh.urls.app,
    applicationName: 'settler-pool-test',
    max: 1,
  });
});

afterAll(async () => {
  await pool?.end();
  await db?.close();
});

/** The plan of a named statement the session prepared, executed with these SQL literals. */
async function cachedPlan(name: string, literals: string[]): Promise<string> {
  const client = await pool.connect();
  try {
    const prepared = await client.query('SELECT 1 FROM pg_prepared_statements WHERE name = $1', [name]);
    expect(prepared.rowCount, `statement ${name} was prepared in this session`).toBe(1);
    const plan = await client.query(`EXPLAIN EXECUTE "${name}"(${literals.join(', ')})`);
    return plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  } finally {
    client.release();
  }
}

/** A plan node of EXPLAIN (FORMAT JSON), as far as these tests read it. */
interface PlanNode {
  'Node Type': string;
  'CTE Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/**
 * Runs the statement `issue` sends through the settler's session under EXPLAIN ANALYZE, in a
 * transaction rolled back afterwards, and returns every plan node.
 */
async function analyzedPlanNodes(issue: (db: PreparedQueryable) => Promise<unknown>): Promise<PlanNode[]> {
  const client = await pool.connect();
  const nodes: PlanNode[] = [];
  try {
    await client.query('BEGIN');
    const explaining: PreparedQueryable = {
      query: async (config) => {
        const result = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${config.text}`, config.values);
        const walk = (node: PlanNode): void => {
          nodes.push(node);
          for (const child of node.Plans ?? []) walk(child);
        };
        walk((result.rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
        return { ...result, rows: [] };
      },
    };
    await issue(explaining);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  return nodes;
}

const uuidArray = (ids: string[]): string => `ARRAY[${ids.map((id) => `'${id}'`).join(', ')}]::uuid[]`;

describe('the settler pool', () => {
  it('opens sessions with the settings that keep generic index plans', async () => {
    const shown = await pool.query(
      `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`,
      [Object.keys(settlerSessionSettings)],
    );
    expect(Object.fromEntries(shown.rows.map((r) => [r.name, r.setting]))).toEqual(settlerSessionSettings);
  });

  it('keeps index plans cached while the tables were empty after they have grown', async () => {
    // Plans are cached now, on nearly empty tables without statistics: what a fresh deployment sees.
    const first = requestCommand({ vehicleId: db.vehicles[0]!, fromHour: 1, toHour: 2 });
    await inReadCommittedTransaction(pool, (client) => settleReservationBatch(client, [first], clock));
    await inReadCommittedTransaction(pool, (client) =>
      settleReservationBatch(
        client,
        [
          cancellationCommand({
            reservationId: first.reservationId,
            vehicleId: first.vehicleId,
            customerId: first.customerId,
          }),
        ],
        clock,
      ),
    );
    // The fast path's statement too: a request the ingress recorded, settled by the settler's path.
    const recorded = requestCommand({ vehicleId: db.vehicles[2]!, fromHour: 1, toHour: 2 });
    await recordPendingRequests(db.app, [recorded]);
    const [fast] = await settleCommandBatch(pool, [recorded], clock);
    expect(fast?.ok && fast.settlement.outcome).toBe('confirmed');
    // Then the inbox grows by 20,000 rows; the session keeps the plans it cached.
    await db.app.query(
      `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
       SELECT gen_random_uuid(), 'bulk-' || (i % 500), $1::uuid,
              tstzrange(timestamptz '2040-01-01' + i * interval '1 hour', timestamptz '2040-01-01' + (i + 1) * interval '1 hour', '[)'),
              sha256(int4send(i))
         FROM generate_series(1, 20000) AS i`,
      [db.vehicles[1]],
    );

    const ids = uuidArray([randomUUID(), randomUUID()]);
    const plans = [
      await cachedPlan('settlement.lock_reservation_requests', [ids]),
      await cachedPlan('settlement.read_locked_reservation_requests', [ids]),
      await cachedPlan('settlement.decide_reservation_requests', [
        `now()`,
        ids,
        `ARRAY['book', 'book']`,
        `ARRAY[NULL, NULL]::text[]`,
        uuidArray([randomUUID(), randomUUID()]),
        uuidArray([randomUUID(), randomUUID()]),
        `ARRAY['c1', 'c2']`,
        `ARRAY[0, 0]`,
        `ARRAY[1, 2]::bigint[]`,
      ]),
      await cachedPlan('settlement.settle_matching_pending_requests', [
        `now()`,
        ids,
        `ARRAY['c1', 'c2']`,
        uuidArray([randomUUID(), randomUUID()]),
        `ARRAY[0, 0]::float8[]`,
        `ARRAY[1, 1]::float8[]`,
        uuidArray([randomUUID(), randomUUID()]),
        uuidArray([randomUUID(), randomUUID()]),
        `ARRAY['c1', 'c2']`,
        `ARRAY[0, 0]`,
        `ARRAY[1, 2]::bigint[]`,
        `now()`,
      ]),
    ];
    for (const plan of plans) {
      expect(plan).toMatch(/Index Scan|Index Only Scan/);
      expect(plan).not.toMatch(/Seq Scan on (reservation_requests|reservations)\b/);
      expect(plan).not.toMatch(/Hash Join|Merge Join/);
    }
  });

  it("reads a batch's new bookings once, not once per request of the batch", async () => {
    // With hash joins off, a join against the `booked` CTE became a nested loop that rescanned
    // every booking for every request: quadratic in the batch size, 30 ms of a batch of 256.
    const commands = db.vehicles.map((vehicleId) =>
      requestCommand({ vehicleId, fromHour: 500, toHour: 501 }),
    );
    await recordPendingRequests(db.app, commands);
    const fastPath = await analyzedPlanNodes((session) =>
      settleMatchingPendingRequests(
        session,
        { decidedAtMs: Date.now(), earliestStartMs: 0 },
        commands.map((command) => matchingRequestInput(command, randomUUID())),
      ),
    );
    const lockedPath = await analyzedPlanNodes((session) =>
      decideReservationRequests(
        session,
        Date.now(),
        commands.map((command, offset) => ({
          reservationId: command.reservationId,
          proposal: 'book',
          reason: null,
          eventId: randomUUID(),
          commandId: command.commandId,
          correlationId: null,
          partition: 0,
          offset,
        })),
      ),
    );
    for (const nodes of [fastPath, lockedPath]) {
      const inserted = nodes.find((n) => n['Node Type'] === 'ModifyTable' && n.Plans?.length);
      expect(inserted, 'the statement ran').toBeDefined();
      const bookedScans = nodes.filter((n) => n['Node Type'] === 'CTE Scan' && n['CTE Name'] === 'booked');
      expect(bookedScans.length).toBeGreaterThan(0);
      expect(bookedScans.map((n) => n['Actual Loops'])).toEqual(bookedScans.map(() => 1));
    }
  });
});
