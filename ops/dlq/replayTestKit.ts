import { openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { FleetProducer } from '../../workers/runtime/producer/fleetProducer.ts';
import { defaultProducerSettings } from '../../workers/runtime/producer/producerSettings.ts';
import { waitUntil } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { testClient } from '../testing/opsTestKit.ts';

/** Test helpers for the replay tests against the real broker. Not for production code. */

/**
 * Deletes consumer groups, waiting while one still has members: a replay run that left keeps
 * its static member (the lock's holder) until its session expires, and such a group cannot be
 * deleted yet.
 */
export async function deleteProgressGroups(groups: readonly string[], timeoutMs = 30_000): Promise<void> {
  const admin = await openKafkaAdmin(testClient);
  try {
    let left = [...groups];
    let lastFailure = '';
    await waitUntil(
      async () => {
        left = await groupsNotDeleted(admin, left);
        lastFailure = left.join(', ');
        return left.length === 0;
      },
      timeoutMs,
      `the groups ${groups.join(', ')} to be deletable (still there: ${lastFailure})`,
    );
  } finally {
    await admin.disconnect();
  }
}

/** Deletes `groups` and returns those that could not be deleted yet (not empty); other failures throw. */
async function groupsNotDeleted(
  admin: Awaited<ReturnType<typeof openKafkaAdmin>>,
  groups: readonly string[],
): Promise<string[]> {
  if (groups.length === 0) return [];
  try {
    await admin.deleteGroups([...groups]);
    return [];
  } catch (error) {
    const reports = (error as { groups?: { groupId: string; error?: { code?: number } }[] }).groups;
    if (!reports) throw error;
    // GROUP_ID_NOT_FOUND: already gone. NON_EMPTY_GROUP: try again later.
    const notFound = 69;
    const nonEmpty = 68;
    const failed = reports.filter((r) => r.error && r.error.code !== notFound);
    const other = failed.find((r) => r.error?.code !== nonEmpty);
    if (other) throw error;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return failed.map((r) => r.groupId);
  }
}

/** One record to write with a chosen timestamp and partition. */
export interface TimedRecord {
  partition: number;
  timestamp: number;
  headers?: [string, string][];
}

/** Writes records with the timestamps given (CreateTime), in order. */
export async function produceAt(topic: string, records: readonly TimedRecord[]): Promise<void> {
  const producer = new FleetProducer({ client: testClient, settings: defaultProducerSettings });
  await producer.start();
  try {
    for (const record of records) {
      await producer.sendRaw(topic, {
        key: 'k',
        value: Buffer.from('v'),
        partition: record.partition,
        timestamp: record.timestamp,
        headers: record.headers ?? [],
        verbatimHeaders: true,
      });
    }
  } finally {
    await producer.stop();
  }
}
