import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { retryRetriable } from '../../workers/runtime/kafka/retryRetriable.ts';
import { RefusedError } from '../cliSupport.ts';

/**
 * The group.instance.id every replay run joins its DLQ's progress group with. The group
 * coordinator admits one live member per instance id and fails any other joiner at once
 * (UNRELEASED_INSTANCE_ID, a fatal consumer error), so membership is a lock taken atomically
 * by the broker — unlike a "no members yet?" check before joining, which two runs started
 * together both pass. A run that leaves cleanly hands the id over at once; one that died keeps
 * it until its session expires.
 */
export const replayLockInstanceId = 'fleet.ops.dlq-replay';

/** The broker setting after which a member that stopped heartbeating (a killed run) loses the lock. */
export const sessionTimeoutSetting = 'group.consumer.session.timeout.ms';
/** Kafka's default for it. */
const defaultSessionTimeout = '45 s';

/** The refusal a run gets when another member holds the lock of `group`. */
export function lockHeldError(dlqTopic: string, group: string, holders: readonly string[]): RefusedError {
  return new RefusedError(
    `another replay of ${dlqTopic} is running: group ${group} is held by ${holders.join(', ')}. ` +
      `The holder may be a run that died (killed, or its host lost): the broker frees its lock ` +
      `once the group session timeout passes without a heartbeat from it (${sessionTimeoutSetting}, ` +
      `${defaultSessionTimeout} by default). Wait for the run to finish, or for that timeout, then run again`,
    true,
  );
}

/** How long a member that just joined may take to show in a group description (the coordinator serves committed state). */
const holderVisibleWithinMs = 3_000;

/**
 * Explains a fatal error of the progress-group consumer: a RefusedError (exit 3) when another
 * member holds the replay lock — the coordinator refused this run, or fenced it because another
 * run took over after its session expired — and undefined otherwise (the caller rethrows).
 * `fatalReason` is librdkafka's text for the fatal error, when it logged one.
 */
export async function lockHolderRefusal(
  admin: Pick<KafkaAdmin, 'describeGroups'>,
  adminTimeoutMs: number,
  dlqTopic: string,
  group: string,
  fatalReason: () => string | undefined,
): Promise<RefusedError | undefined> {
  const deadline = Date.now() + holderVisibleWithinMs;
  for (;;) {
    const reason = fatalReason();
    if (reason !== undefined && !isLockReason(reason)) return undefined;
    const holders = await lockHolders(admin, adminTimeoutMs, group);
    if (holders.length > 0) return lockHeldError(dlqTopic, group, holders);
    if (Date.now() >= deadline) break;
    await sleep(200);
  }
  // Refused for the instance id, and its holder already gone: it was running a moment ago.
  const reason = fatalReason();
  return reason !== undefined && isLockReason(reason)
    ? lockHeldError(dlqTopic, group, ['a member that has left since'])
    : undefined;
}

/** Whether librdkafka's fatal-error text is about the instance id (UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID). */
function isLockReason(reason: string): boolean {
  return /instance ?id/i.test(reason);
}

/** `client@host` of each member that holds the replay lock of `group`. */
async function lockHolders(
  admin: Pick<KafkaAdmin, 'describeGroups'>,
  adminTimeoutMs: number,
  group: string,
): Promise<string[]> {
  const described = await retryRetriable(`could not describe ${group}`, () =>
    admin.describeGroups([group], { timeout: adminTimeoutMs }),
  );
  return (described.groups[0]?.members ?? [])
    .filter((m) => m.groupInstanceId === replayLockInstanceId)
    .map((m) => `${m.clientId}@${m.clientHost}`);
}
