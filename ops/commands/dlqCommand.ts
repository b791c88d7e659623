import { Redis } from 'ioredis';
import { openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { failFastRedisOptions } from '../../workers/runtime/resilience/failFastRedis.ts';
import {
  listStoredBlocks,
  type StoredDeadLetterBlock,
} from '../../workers/runtime/resilience/sharedDeadLetterBlocks.ts';
import {
  type CliIo,
  exitCodes,
  formatTable,
  onePositional,
  parseCommand,
  parseInteger,
  parseIsoTime,
  parseRate,
  subcommandHelp,
  UsageError,
} from '../cliSupport.ts';
import { type DlqFilter, matchesFilter } from '../dlq/dlqFilter.ts';
import { type DlqRecord, recordCoordinates, toDlqRecord } from '../dlq/dlqRecord.ts';
import { committedProgress, dlqWatermarks, progressGroupOf, replayDeadLetters } from '../dlq/dlqReplay.ts';
import { hexPreviewBytes, isWireFormat, jsonSafe, listEntry, printable } from '../dlq/recordView.ts';
import { isReplayed } from '../dlq/replayProgress.ts';
import { readRanges } from '../dlq/topicReader.ts';
import { loadOpsConfig, type OpsConfig } from '../opsConfig.ts';

export const dlqUsage = `usage: ops dlq <list|inspect|replay> <topic.dlq> [options]
       ops dlq blocks [--worker W] [--json]

  list <topic.dlq> [filters] [--limit N] [--json]
      dead letters, oldest first per partition: where each came from, why it failed, whether
      it was replayed; --json prints one JSON object per line. --limit defaults to 100.
  inspect <topic.dlq> --partition P --offset O [--json]
      one dead letter in full: parsed fleet.dlq.* headers, the original headers, the value as
      hex and base64 and, when it is in the Confluent wire format, decoded through the registry.
  replay <topic.dlq> [filters] (--dry-run | --max M | --yes) [--rate N/s]
      re-produces each selected dead letter's original key and value bytes onto its original
      topic (fleet.dlq.original-topic) with its original headers plus fleet.replay.of and
      fleet.replay.at, through the idempotent producer, at most --rate records/s (default 10/s)
      and --max records. Each dead letter moves exactly once across runs: progress lives in the
      commits of the consumer group fleet.ops.dlq-replay.<topic.dlq>, recorded only after the
      broker acknowledged the send, and a send interrupted by a crash is settled by looking for
      its fleet.replay.of marker on the original topic. --dry-run sends and commits nothing and
      prints what would move. A real run needs --max M or --yes (every selected dead letter).
      One run per DLQ at a time: the run holds the group under group.instance.id
      fleet.ops.dlq-replay, and another run is refused (exit 3) until it ends — or, if it died,
      until the broker's group.consumer.session.timeout.ms (45 s by default) has passed.

  blocks [--worker W] [--json]
      the partitions a tripped DLQ cap holds paused, fleet-wide, as the workers keep them in
      Redis for the partition's next owner (REDIS_URL): worker, topic, partition, cap, since,
      when the cool-down lifts it (or "operator") and why. Resume one on the replica that owns
      the partition now: ops worker resume-dlq (its /readyz names the blocked partitions).

  filters: --since ISO  --until ISO  (fleet.dlq.dead-lettered-at, ISO 8601 with a zone)
           --error-class C  (fleet.dlq.error-class)   --error-code C  (fleet.dlq.error-code)
           --key K  (record key, UTF-8); given together, a dead letter must match all of them

exit status: 0 done; 1 failed (Kafka or the registry unreachable, no record at that offset, a
send failed, or some dead letters have unreadable headers and cannot be replayed); 2 bad
arguments or configuration (a real replay without --max or --yes); 3 refused (another replay
of the same DLQ is running or died less than a session timeout ago, or its progress record is
full).`;

const filterOptions = {
  since: { type: 'string' },
  until: { type: 'string' },
  'error-class': { type: 'string' },
  'error-code': { type: 'string' },
  key: { type: 'string' },
} as const;

/** `ops dlq …`. */
export async function runDlqCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const help = subcommandHelp(sub, rest, io, dlqUsage);
  if (help !== undefined) return help;
  switch (sub) {
    case 'list':
      return list(rest, io);
    case 'inspect':
      return inspect(rest, io);
    case 'replay':
      return replay(rest, io);
    case 'blocks':
      return blocks(rest, io);
    default:
      throw new UsageError(`unknown dlq command ${JSON.stringify(sub)}: list, inspect, replay or blocks`);
  }
}

function dlqTopicArgument(positionals: readonly string[]): string {
  const topic = onePositional(positionals, 'the dead-letter topic (<topic>.dlq)');
  if (!topic.endsWith('.dlq')) {
    throw new UsageError(`${JSON.stringify(topic)} is not a dead-letter topic: their names end in .dlq`);
  }
  return topic;
}

function readFilter(values: {
  since?: string;
  until?: string;
  'error-class'?: string;
  'error-code'?: string;
  key?: string;
}): DlqFilter {
  const filter: DlqFilter = {};
  if (values.since !== undefined) filter.since = parseIsoTime('since', values.since);
  if (values.until !== undefined) filter.until = parseIsoTime('until', values.until);
  if (values['error-class'] !== undefined) filter.errorClass = values['error-class'];
  if (values['error-code'] !== undefined) filter.errorCode = values['error-code'];
  if (values.key !== undefined) filter.key = values.key;
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new UsageError('--since must be before --until');
  }
  return filter;
}

async function withAdmin<T>(
  config: OpsConfig,
  run: (admin: Awaited<ReturnType<typeof openKafkaAdmin>>) => Promise<T>,
): Promise<T> {
  const admin = await openKafkaAdmin(config.client);
  try {
    return await run(admin);
  } finally {
    await admin.disconnect();
  }
}

async function blocks(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    worker: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw new UsageError(`dlq blocks takes no topic, got ${JSON.stringify(positionals[0])}`);
  const config = loadOpsConfig(io.env);
  const redis = new Redis(config.redisUrl, {
    ...failFastRedisOptions(config.adminTimeoutMs, 'fleet-ops'),
    lazyConnect: true,
    retryStrategy: () => null,
  });
  // ioredis also emits what the awaited calls reject with; the rejection is what gets reported.
  redis.on('error', () => {});
  let found: StoredDeadLetterBlock[];
  try {
    await redis.connect();
    found = await listStoredBlocks(redis, values.worker === undefined ? {} : { worker: values.worker });
  } catch (error) {
    throw new Error(
      `could not read the DLQ-cap blocks from Redis at ${config.redisUrl}: ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
  if (values.json) {
    for (const block of found) io.out(JSON.stringify(block));
    return exitCodes.ok;
  }
  if (found.length > 0) {
    for (const line of formatTable(
      ['WORKER', 'TOPIC', 'PARTITION', 'CAP', 'SINCE', 'RESUMES', 'REASON'],
      found.map((b) => [
        b.worker,
        b.topic ?? '',
        String(b.partition),
        b.cap,
        new Date(b.since).toISOString(),
        b.resumesAt === null ? 'operator' : new Date(b.resumesAt).toISOString(),
        b.reason,
      ]),
    ))
      io.out(line);
  }
  io.out(`${found.length} blocked partition(s)`);
  return exitCodes.ok;
}

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    ...filterOptions,
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  const dlqTopic = dlqTopicArgument(positionals);
  const filter = readFilter(values);
  const limit = values.limit === undefined ? 100 : parseInteger('limit', values.limit, 1, 1_000_000);
  const config = loadOpsConfig(io.env);
  const shown: { record: DlqRecord; replayed: boolean }[] = [];
  let more = false;
  await withAdmin(config, async (admin) => {
    const context = { admin, dlqTopic, adminTimeoutMs: config.adminTimeoutMs };
    const watermarks = await dlqWatermarks(context);
    const progress = await committedProgress(context, watermarks);
    await readRanges({
      client: config.client,
      topic: dlqTopic,
      ranges: [...watermarks].map(([partition, w]) => ({ partition, from: w.low, to: w.high })),
      onRecord: (message) => {
        const record = toDlqRecord(message);
        if (!matchesFilter(record, filter)) return true;
        if (shown.length >= limit) {
          more = true;
          return false;
        }
        const partitionProgress = progress.get(record.partition);
        shown.push({
          record,
          replayed: partitionProgress ? isReplayed(partitionProgress, record.offset) : false,
        });
        return true;
      },
    });
  });
  if (values.json) {
    for (const { record, replayed } of shown) io.out(JSON.stringify(listEntry(record, replayed)));
  } else {
    const rows = shown.map(({ record, replayed }) => [
      String(record.partition),
      String(record.offset),
      record.info?.deadLetteredAt.toISOString() ?? new Date(record.timestamp).toISOString(),
      record.info
        ? recordCoordinates(
            record.info.originalTopic,
            record.info.originalPartition,
            record.info.originalOffset,
          )
        : '?',
      record.info?.errorClass ?? `invalid headers: ${record.problem}`,
      record.info?.errorCode ?? '?',
      record.info ? String(record.info.attempts) : '?',
      printable(record.key),
      replayed ? 'yes' : 'no',
    ]);
    for (const line of formatTable(
      [
        'PARTITION',
        'OFFSET',
        'DEAD_LETTERED_AT',
        'ORIGIN',
        'ERROR_CLASS',
        'ERROR_CODE',
        'ATTEMPTS',
        'KEY',
        'REPLAYED',
      ],
      rows,
    )) {
      io.out(line);
    }
    io.out(`${shown.length} dead letter(s)${more ? `; more match (raise --limit ${limit})` : ''}`);
  }
  return exitCodes.ok;
}

async function inspect(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    partition: { type: 'string' },
    offset: { type: 'string' },
    json: { type: 'boolean' },
  });
  const dlqTopic = dlqTopicArgument(positionals);
  if (values.partition === undefined || values.offset === undefined) {
    throw new UsageError('inspect needs --partition P and --offset O');
  }
  const partition = parseInteger('partition', values.partition, 0, 1_000_000);
  const offset = parseInteger('offset', values.offset);
  const config = loadOpsConfig(io.env);
  let record: DlqRecord | undefined;
  let replayed = false;
  await withAdmin(config, async (admin) => {
    const context = { admin, dlqTopic, adminTimeoutMs: config.adminTimeoutMs };
    const watermarks = await dlqWatermarks(context);
    const range = watermarks.get(partition);
    if (!range || offset < range.low || offset >= range.high) {
      const holds = range ? `offsets ${range.low}..${range.high - 1}` : 'no such partition';
      throw new Error(`no record at ${recordCoordinates(dlqTopic, partition, offset)} (${holds})`);
    }
    replayed = isReplayed((await committedProgress(context, watermarks)).get(partition)!, offset);
    await readRanges({
      client: config.client,
      topic: dlqTopic,
      ranges: [{ partition, from: offset, to: offset + 1 }],
      onRecord: (message) => {
        record = toDlqRecord(message);
        return false;
      },
    });
  });
  if (!record) {
    io.err(
      `no record at ${recordCoordinates(dlqTopic, partition, offset)} (an empty offset: compaction or a transaction marker)`,
    );
    return exitCodes.failure;
  }
  const decoded = await decodeValue(config, record.value);
  const found: DlqRecord = record;
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          ...listEntry(found, replayed),
          originalHeaders: Object.fromEntries(
            Object.entries(found.info?.originalHeaders ?? {}).map(([k, v]) => [k, printable(v)]),
          ),
          headers: Object.fromEntries(Object.entries(found.headers).map(([k, v]) => [k, v.map(printable)])),
          value:
            found.value === null
              ? null
              : { bytes: found.value.length, base64: found.value.toString('base64') },
          decoded,
        },
        jsonSafe,
        2,
      ),
    );
    return exitCodes.ok;
  }
  for (const line of describeRecord(found, replayed, decoded)) io.out(line);
  return exitCodes.ok;
}

/** The value decoded through the registry when it is in the wire format; what went wrong otherwise. */
async function decodeValue(
  config: OpsConfig,
  value: Buffer | null,
): Promise<{ schemaId: number; value: unknown } | { error: string } | null> {
  if (!isWireFormat(value)) return null;
  const registry = new SchemaRegistryClient(config.registry);
  try {
    const decoded = await new AvroSerde({ source: registry }).decode(value);
    return { schemaId: value.readInt32BE(1), value: decoded };
  } catch (error) {
    const retriable = (error as { retriable?: unknown }).retriable === true;
    return { error: `${(error as Error).message}${retriable ? ' (retriable: is the registry up?)' : ''}` };
  } finally {
    registry.close();
  }
}

function describeRecord(
  record: DlqRecord,
  replayed: boolean,
  decoded: { schemaId: number; value: unknown } | { error: string } | null,
): string[] {
  const lines = [
    `record        ${recordCoordinates(record.topic, record.partition, record.offset)}`,
    `timestamp     ${new Date(record.timestamp).toISOString()}`,
    `key           ${printable(record.key)}`,
    `replayed      ${replayed ? 'yes' : 'no'} (progress of ${progressGroupOf(record.topic)})`,
  ];
  const info = record.info;
  if (info) {
    lines.push(
      `origin        ${recordCoordinates(info.originalTopic, info.originalPartition, info.originalOffset)} written ${new Date(info.originalTimestamp).toISOString()}`,
      `consumer      group ${info.consumerGroup}, worker ${info.worker}, ${info.attempts} attempt(s)`,
      `error         ${info.errorClass} (${info.errorCode}): ${info.errorMessage}`,
      `dead-lettered ${info.deadLetteredAt.toISOString()}`,
      'original headers:',
      ...Object.entries(info.originalHeaders).map(([name, value]) => `  ${name}: ${printable(value)}`),
    );
  } else {
    lines.push(`dead-letter headers unreadable: ${record.problem}`, 'headers:');
    for (const [name, values] of Object.entries(record.headers)) {
      for (const value of values) lines.push(`  ${name}: ${printable(value)}`);
    }
  }
  const value = record.value;
  if (value === null) {
    lines.push('value         (null)');
    return lines;
  }
  const preview = value.subarray(0, hexPreviewBytes).toString('hex');
  lines.push(
    `value         ${value.length} byte(s)`,
    `  hex         ${preview}${value.length > hexPreviewBytes ? ` … (${value.length - hexPreviewBytes} more)` : ''}`,
    `  base64      ${value.toString('base64')}`,
  );
  if (decoded === null) lines.push('  avro        not in the Confluent wire format');
  else if ('error' in decoded) lines.push(`  avro        could not decode: ${decoded.error}`);
  else lines.push(`  avro        schema id ${decoded.schemaId}: ${JSON.stringify(decoded.value, jsonSafe)}`);
  return lines;
}

/** A real replay moves records for good: it takes --max (a bound) or --yes (everything selected), never neither. */
function requireBoundOrConsent(dryRun: boolean, max: number | undefined, yes: boolean): void {
  if (dryRun || max !== undefined || yes) return;
  throw new UsageError(
    'a replay (not --dry-run) needs --max N to move at most N dead letters, or --yes to move every selected one; see what would move with --dry-run first',
  );
}

async function replay(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    ...filterOptions,
    'dry-run': { type: 'boolean' },
    rate: { type: 'string' },
    max: { type: 'string' },
    yes: { type: 'boolean' },
  });
  const dlqTopic = dlqTopicArgument(positionals);
  const filter = readFilter(values);
  const ratePerSecond = values.rate === undefined ? 10 : parseRate('rate', values.rate);
  const max = values.max === undefined ? undefined : parseInteger('max', values.max, 1);
  const dryRun = values['dry-run'] === true;
  requireBoundOrConsent(dryRun, max, values.yes === true);
  const config = loadOpsConfig(io.env);
  const report = await withAdmin(config, (admin) =>
    replayDeadLetters({
      dlqTopic,
      filter,
      dryRun,
      ratePerSecond,
      max,
      client: config.client,
      producerSettings: config.producer,
      admin,
      adminTimeoutMs: config.adminTimeoutMs,
      out: io.out,
    }),
  );
  const counts = `already replayed ${report.alreadyReplayed}, not selected ${report.notSelected}, unreadable ${report.invalid}`;
  io.out(
    dryRun
      ? `dry run of ${dlqTopic}: would move ${report.moved}; ${counts}; nothing was sent or committed`
      : `replay of ${dlqTopic}: moved ${report.moved}; ${counts}${report.recoveredPending ? `; ${report.recoveredPending} interrupted send(s) found delivered` : ''}`,
  );
  if (report.stoppedAtMax) io.out(`stopped at --max ${max}; run again to continue`);
  if (report.unassigned.length > 0) {
    io.err(
      `partitions ${report.unassigned.join(', ')} of ${dlqTopic} were never assigned to this run by the coordinator of ${progressGroupOf(dlqTopic)}; nothing of them was moved: run again`,
    );
    return exitCodes.failure;
  }
  if (report.invalid > 0) {
    io.err(
      `${report.invalid} dead letter(s) have unreadable headers and cannot be replayed; see them with ops dlq inspect`,
    );
    return exitCodes.failure;
  }
  return exitCodes.ok;
}
