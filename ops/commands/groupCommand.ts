import type { TopicPartitionOffsetAndMetadata } from '@confluentinc/kafka-javascript';
import { type KafkaAdmin, openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { createRdKafkaConsumer } from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { baseClientConfig, type KafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import { KafkaClientError, toKafkaClientError } from '../../workers/runtime/kafka/librdkafkaErrors.ts';
import { retryRetriable } from '../../workers/runtime/kafka/retryRetriable.ts';
import {
  type CliIo,
  exitCodes,
  formatTable,
  parseCommand,
  parseIsoTime,
  RefusedError,
  subcommandHelp,
  UsageError,
} from '../cliSupport.ts';
import { loadOpsConfig } from '../opsConfig.ts';

export const groupUsage = `usage: ops group reset-offsets --group G --topic T --to-datetime ISO [--dry-run | --execute] [--create]

  Moves the committed offsets of group G on every partition of topic T to the first record
  written at or after ISO (the log end where there is none), e.g. to re-consume since an
  incident. Prints the plan (current, target, delta per partition); commits only with
  --execute (--dry-run is the default). The Admin API of @confluentinc/kafka-javascript 1.10
  has no setOffsets/alterConsumerGroupOffsets, so the commit is made by a consumer of G that
  does not join it — which the broker accepts only while the group has no members.

  Refused while G has active members: their next commit would overwrite the reset. Stop the
  group's workers first (scale to 0 or SIGTERM them; with KEDA, pause the ScaledObject, see
  runbooks/kafka-lag-mitigation.md), reset, then start them again.

  Refused too when G has no committed offset on T (a mistyped group, or one that does not
  consume T): committing would create a new group and leave the real one untouched. --create
  commits anyway, for a group that is meant to start at ISO.

exit status: 0 planned (dry run) or committed; 1 failed (Kafka unreachable, no such topic, the
commit failed); 2 bad arguments; 3 refused (the group has active members, or no offsets on T).`;

/** `ops group …`. */
export async function runGroupCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const help = subcommandHelp(sub, rest, io, groupUsage);
  if (help !== undefined) return help;
  if (sub !== 'reset-offsets')
    throw new UsageError(`unknown group command ${JSON.stringify(sub)}: reset-offsets`);
  const { values, positionals } = parseCommand(rest, {
    group: { type: 'string' },
    topic: { type: 'string' },
    'to-datetime': { type: 'string' },
    'dry-run': { type: 'boolean' },
    execute: { type: 'boolean' },
    create: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.group || !values.topic || !values['to-datetime']) {
    throw new UsageError('reset-offsets needs --group, --topic and --to-datetime');
  }
  if (values['dry-run'] && values.execute) throw new UsageError('choose one of --dry-run and --execute');
  const to = parseIsoTime('to-datetime', values['to-datetime']);
  const config = loadOpsConfig(io.env);
  const admin = await openKafkaAdmin(config.client);
  try {
    const request = { admin, group: values.group, topic: values.topic, timeoutMs: config.adminTimeoutMs };
    await refuseActiveGroup(request);
    const plan = await planReset(request, to);
    if (!values.create && plan.every((p) => p.current === undefined)) {
      throw new RefusedError(
        `group ${values.group} has no committed offset on ${values.topic}: a mistyped group, or one that does not consume it? Committing would create a new group and leave the real one untouched (check with: ops lag --group ${values.group}); add --create if that is what you want`,
        false,
      );
    }
    io.out(
      `reset ${values.group} on ${values.topic} to ${new Date(to).toISOString()}${values.execute ? '' : ' (dry run: nothing committed; add --execute)'}`,
    );
    for (const line of formatTable(
      ['PARTITION', 'CURRENT', 'TARGET', 'DELTA'],
      plan.map((p) => [
        String(p.partition),
        p.current === undefined ? '-' : String(p.current),
        String(p.target),
        p.current === undefined ? '-' : String(p.target - p.current),
      ]),
    )) {
      io.out(line);
    }
    if (!values.execute) return exitCodes.ok;
    // Checked again right before the commit: a worker may have started meanwhile.
    await refuseActiveGroup(request);
    await commitAsNonMember(config.client, values.group, values.topic, plan);
    const committed = await currentOffsets(request);
    const wrong = plan.filter((p) => committed.get(p.partition) !== p.target);
    if (wrong.length > 0) {
      throw new KafkaClientError(
        `the broker holds other offsets than committed for partitions ${wrong.map((p) => p.partition).join(', ')}`,
        { code: -1, retriable: true },
      );
    }
    io.out(`committed ${plan.length} partition offset(s) of ${values.group}`);
    return exitCodes.ok;
  } finally {
    await admin.disconnect();
  }
}

interface ResetRequest {
  admin: Pick<KafkaAdmin, 'describeGroups' | 'fetchOffsets' | 'fetchTopicOffsetsByTimestamp'>;
  group: string;
  topic: string;
  timeoutMs: number;
}

/** One partition's move. */
export interface PartitionReset {
  partition: number;
  current: number | undefined;
  target: number;
}

async function refuseActiveGroup(request: ResetRequest): Promise<void> {
  const described = await retryRetriable(`could not describe ${request.group}`, () =>
    request.admin.describeGroups([request.group], { timeout: request.timeoutMs }),
  );
  const members = described.groups[0]?.members ?? [];
  if (members.length > 0) {
    const who = members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ');
    throw new RefusedError(
      `group ${request.group} has ${members.length} active member(s) (${who}): stop its consumers first, or their next commit overwrites the reset`,
      true,
    );
  }
}

async function currentOffsets(request: ResetRequest): Promise<Map<number, number>> {
  const fetched = await retryRetriable(`could not read the offsets of ${request.group}`, () =>
    request.admin.fetchOffsets({
      groupId: request.group,
      topics: [request.topic],
      timeout: request.timeoutMs,
    }),
  );
  const offsets = new Map<number, number>();
  for (const p of fetched.flatMap((t) => t.partitions)) {
    if (Number(p.offset) >= 0) offsets.set(p.partition, Number(p.offset));
  }
  return offsets;
}

async function planReset(request: ResetRequest, to: number): Promise<PartitionReset[]> {
  const targets = await retryRetriable(`could not look up offsets of ${request.topic} by time`, () =>
    request.admin.fetchTopicOffsetsByTimestamp(request.topic, to, { timeout: request.timeoutMs } as never),
  );
  const current = await currentOffsets(request);
  return targets
    .map((t) => ({ partition: t.partition, current: current.get(t.partition), target: Number(t.offset) }))
    .sort((a, b) => a.partition - b.partition);
}

/** Commits offsets for `group` from a consumer that never joins it (accepted while the group is empty). */
async function commitAsNonMember(
  client: KafkaClientSettings,
  group: string,
  topic: string,
  plan: readonly PartitionReset[],
): Promise<void> {
  const consumer = createRdKafkaConsumer(
    { ...baseClientConfig(client), 'group.id': group, 'enable.auto.commit': false },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: client.socketTimeoutMs }, (error) =>
      error ? reject(toKafkaClientError(error, 'could not connect to commit', KafkaClientError)) : resolve(),
    ),
  );
  try {
    const offsets: TopicPartitionOffsetAndMetadata[] = plan.map((p) => ({
      topic,
      partition: p.partition,
      offset: p.target,
    }));
    await new Promise<void>((resolve, reject) =>
      consumer.commitCb(offsets, (error) =>
        error
          ? reject(toKafkaClientError(error, `could not commit the offsets of ${group}`, KafkaClientError))
          : resolve(),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
