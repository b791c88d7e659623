import { type CliIo, exitCodes, formatTable, parseCommand, parseInteger, UsageError } from '../cliSupport.ts';
import { withReadOnlyDatabase } from '../readOnlyDatabase.ts';

export const pendingUsage = `usage: ops pending [--older-than SECONDS] [--limit N]

  Reservation requests still pending after SECONDS (default 60), oldest first (at most N,
  default 20), with how often the ingress relay re-produced their command. A pending request
  older than a minute means the settler lags or is down (ops lag), or an ingress died between
  recording the request and producing its command — which the relay repairs by producing it
  again (workers/ingress/README.md). Reads PostgreSQL (DATABASE_URL) in a read-only session.

exit status: 0 listed (also when none is stale); 1 the database is unreachable; 2 bad arguments.`;

interface PendingRow {
  reservation_id: string;
  vehicle_id: string;
  age_s: number;
  relay_count: number;
  relayed_ago_s: number | null;
}

/** `ops pending`. */
export async function runPendingCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(pendingUsage);
    return exitCodes.ok;
  }
  const { values, positionals } = parseCommand(argv, {
    'older-than': { type: 'string' },
    limit: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const olderThan = parseInteger('older-than', values['older-than'] ?? '60', 0, 31_536_000);
  const limit = parseInteger('limit', values.limit ?? '20', 1, 1000);
  const { summary, rows } = await withReadOnlyDatabase(
    io.env,
    'reading pending reservation requests',
    async (client) => ({
      summary: (
        await client.query<{ pending: number; stale: number; relayed: number }>(
          `SELECT count(*)::int AS pending,
                count(*) FILTER (WHERE created_at < now() - make_interval(secs => $1))::int AS stale,
                count(*) FILTER (WHERE relay_count > 0)::int AS relayed
           FROM fleet.reservation_requests WHERE status = 'pending'`,
          [olderThan],
        )
      ).rows[0]!,
      rows: (
        await client.query<PendingRow>(
          `SELECT reservation_id, vehicle_id,
                extract(epoch FROM now() - created_at)::float8 AS age_s,
                relay_count,
                extract(epoch FROM now() - relayed_at)::float8 AS relayed_ago_s
           FROM fleet.reservation_requests
          WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
          ORDER BY created_at
          LIMIT $2`,
          [olderThan, limit],
        )
      ).rows,
    }),
  );
  io.out(
    `${summary.pending} pending, ${summary.stale} pending for more than ${olderThan} s, ${summary.relayed} re-produced by the relay`,
  );
  if (rows.length > 0) {
    const table = formatTable(
      ['RESERVATION', 'VEHICLE', 'PENDING FOR', 'RELAYED', 'LAST RELAYED'],
      rows.map((r) => [
        r.reservation_id,
        r.vehicle_id,
        `${Math.round(r.age_s)} s`,
        String(r.relay_count),
        r.relayed_ago_s === null ? '-' : `${Math.round(r.relayed_ago_s)} s ago`,
      ]),
    );
    for (const line of table) io.out(line);
  }
  return exitCodes.ok;
}
