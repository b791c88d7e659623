import { setTimeout as sleep } from 'node:timers/promises';
import { openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { KafkaLagReader } from '../../workers/lag-monitor/kafkaLagReader.ts';
import { exactGroupPattern, readLagMonitorSettings } from '../../workers/lag-monitor/lagMonitorConfig.ts';
import type { LagSnapshot } from '../../workers/lag-monitor/lagSnapshot.ts';
import { LagTracker } from '../../workers/lag-monitor/lagTracker.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../../workers/runtime/config/stackEndpoints.ts';
import { readKafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import { type CliIo, exitCodes, parseCommand, parseInteger, UsageError } from '../cliSupport.ts';
import { formatLagTable } from '../lagTable.ts';

export const lagUsage = `usage: ops lag [--group G] [--json] [--from URL] [--samples N] [--interval-ms MS]

  Consumer lag per group: status, lag in messages and seconds, rates, desired replicas (and
  KEDA's figure for comparison). Unknown figures are shown as ?, never as 0.

  --group G          only this group (default: every group matching LAG_GROUP_PATTERN, ^fleet\\.(?!ops\\.))
  --json             print the lag monitor's JSON (the /v1/lag format) instead of the table
  --from URL         read a running lag monitor (e.g. http://127.0.0.1:9104) instead of Kafka;
                     its statuses and rates span its whole window (LAG_STATUS_WINDOW polls)
  --samples N        direct mode: samples to take (default 2; statuses and rates span them)
  --interval-ms MS   direct mode: time between samples (default 1000)

  Direct mode reads the Admin API at KAFKA_BOOTSTRAP_SERVERS with the lag monitor's own logic
  and LAG_* settings (LAG_TARGET_DRAIN_SECONDS, LAG_KEDA_LAG_THRESHOLD, …). It cannot know how
  long an offset has stood: a partition with lag that no member owns and whose offset did not
  move during the samples reads STOP at once (a running monitor waits out its window).

exit status: 0 figures shown; 1 Kafka or the monitor could not be read, or --group matched
nothing; 2 bad arguments or configuration.`;

/** `ops lag`. */
export async function runLagCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    group: { type: 'string' },
    json: { type: 'boolean' },
    from: { type: 'string' },
    samples: { type: 'string' },
    'interval-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(lagUsage);
    return exitCodes.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const samples = values.samples === undefined ? 2 : parseInteger('samples', values.samples, 2, 100);
  const intervalMs =
    values['interval-ms'] === undefined
      ? 1000
      : parseInteger('interval-ms', values['interval-ms'], 100, 60_000);
  if (values.from !== undefined && (values.samples !== undefined || values['interval-ms'] !== undefined)) {
    throw new UsageError('--samples and --interval-ms apply to direct mode only, not with --from');
  }
  let snapshot = values.from
    ? await readMonitor(values.from)
    : await sampleKafka(io, values.group, samples, intervalMs);
  if (values.group !== undefined) {
    snapshot = { ...snapshot, groups: snapshot.groups.filter((g) => g.group === values.group) };
  }
  if (values.json) io.out(JSON.stringify(snapshot, null, 2));
  else {
    for (const line of formatLagTable(snapshot)) io.out(line);
    if (!values.from) {
      io.out(
        `(statuses and rates over ${samples} samples ${intervalMs} ms apart; a running monitor, --from, judges over its full window)`,
      );
    }
  }
  if (!snapshot.up) return exitCodes.failure;
  if (values.group !== undefined && snapshot.groups.length === 0) {
    io.err(`no consumer group named ${values.group}`);
    return exitCodes.failure;
  }
  return exitCodes.ok;
}

/** GET <url>/v1/lag of a running lag monitor. */
async function readMonitor(base: string): Promise<LagSnapshot> {
  let url: URL;
  try {
    url = new URL('/v1/lag', base);
  } catch {
    throw new UsageError(`--from must be a URL like http://127.0.0.1:9104, got ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--from must be an http(s) URL, got ${JSON.stringify(base)}`);
  }
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new Error(`could not reach the lag monitor at ${url.href}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (response.status !== 200) {
    const body = await response.text();
    throw new Error(`the lag monitor at ${url.href} answered ${response.status}: ${body.slice(0, 300)}`);
  }
  return (await response.json()) as LagSnapshot;
}

/** Direct mode: `samples` polls of the Admin API through the lag monitor's reader and tracker. */
async function sampleKafka(
  io: CliIo,
  group: string | undefined,
  samples: number,
  intervalMs: number,
): Promise<LagSnapshot> {
  const reader = new EnvReader(io.env);
  const endpoints = readStackEndpoints(reader);
  const client = readKafkaClientSettings(reader, endpoints, 'ops');
  const settings = readLagMonitorSettings(reader);
  reader.done();
  const admin = await openKafkaAdmin(client);
  try {
    const lagReader = new KafkaLagReader({
      admin,
      groupPattern: group === undefined ? settings.groupPattern : exactGroupPattern(group),
      timeoutMs: settings.adminTimeoutMs,
    });
    const tracker = new LagTracker({
      ...settings,
      pollIntervalMs: intervalMs,
      statusWindow: samples,
      commitsPredateFirstPoll: true,
    });
    let snapshot: LagSnapshot | undefined;
    for (let i = 0; i < samples; i++) {
      if (i > 0) await sleep(intervalMs);
      try {
        snapshot = tracker.observe(await lagReader.read());
      } catch (error) {
        return tracker.failed((error as Error).message, Date.now());
      }
    }
    return snapshot!;
  } finally {
    await admin.disconnect();
  }
}
