import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrator.ts';
import { localVehicleCatalog, seedLocalVehicles } from '../../db/seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from '../../db/testing/freshDatabase.ts';
import { runOpsCli } from '../cli.ts';

let db: FreshDatabase;
let owner: pg.Pool;
const vehicleId = localVehicleCatalog()[0]!.id;

beforeAll(async () => {
  db = await createFreshDatabase('fleetstream_ops_pending');
  await migrate({ connectionString: db.urls.migrator });
  owner = new pg.Pool({ connectionString: db.urls.migrator, max: 1 });
  await seedLocalVehicles(owner);
});

afterAll(async () => {
  await owner?.end();
  await db?.drop();
});

async function pendingRow(ageSeconds: number, relayCount = 0): Promise<string> {
  const id = randomUUID();
  await owner.query(
    `INSERT INTO fleet.reservation_requests
       (reservation_id, customer_id, vehicle_id, requested_period, request_hash, created_at, relay_count, relayed_at)
     VALUES ($1, 'ops-check', $2, tstzrange(now() + interval '9 days', now() + interval '10 days'), $3,
             now() - make_interval(secs => $4), $5, CASE WHEN $5 > 0 THEN now() - interval '30 seconds' END)`,
    [id, vehicleId, Buffer.alloc(32), ageSeconds, relayCount],
  );
  return id;
}

async function ops(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOpsCli(args, {
    env: { DATABASE_URL: db.urls.app },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

describe('ops pending', () => {
  it('counts pending requests and lists the stale ones oldest first, with their relays', async () => {
    const relayed = await pendingRow(600, 2);
    const stale = await pendingRow(120);
    const fresh = await pendingRow(5);
    const { code, out } = await ops(['pending', '--older-than', '60']);
    expect(code).toBe(0);
    expect(out[0]).toBe('3 pending, 2 pending for more than 60 s, 1 re-produced by the relay');
    expect(out[1]).toMatch(/^RESERVATION\s+VEHICLE\s+PENDING FOR\s+RELAYED\s+LAST RELAYED$/);
    expect(out[2]).toMatch(new RegExp(`^${relayed}\\s+${vehicleId}\\s+60\\d s\\s+2\\s+3\\d s ago$`));
    expect(out[3]).toMatch(new RegExp(`^${stale}\\s+${vehicleId}\\s+12\\d s\\s+0\\s+-$`));
    expect(out.join('\n')).not.toContain(fresh);
  });

  it('refuses bad arguments with exit 2 and reports an unreachable database with exit 1', async () => {
    expect((await ops(['pending', '--older-than', 'soon'])).code).toBe(2);
    const down = await runOpsCli(['pending'], {
      env: { DATABASE_URL: 'postgres://fleetstream_app@127.0.0.1:1/fleetstream' },
      out: () => undefined,
      err: () => undefined,
    });
    expect(down).toBe(1);
  });
});
