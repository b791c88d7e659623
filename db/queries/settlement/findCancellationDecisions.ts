import { DatabaseOperationError } from '../../pgErrors.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type CancellationDecisionRecord,
  type CancellationDecisionRow,
  cancellationDecisionColumns,
  cancellationDecisionFromRow,
} from './settlementRecords.ts';

/** The stored decisions of these cancellation commands (a replayed command finds its own here). */
export async function findCancellationDecisions(
  db: PreparedQueryable,
  commandIds: readonly string[],
): Promise<CancellationDecisionRecord[]> {
  if (commandIds.length === 0) return [];
  try {
    const result = await db.query<CancellationDecisionRow>({
      name: 'settlement.find_cancellation_decisions',
      text: `SELECT ${cancellationDecisionColumns}
         FROM fleet.cancellation_decisions c
        WHERE c.command_id = ANY($1::uuid[])`,
      values: [commandIds],
    });
    return result.rows.map(cancellationDecisionFromRow);
  } catch (error) {
    throw new DatabaseOperationError('reading cancellation decisions', error);
  }
}
