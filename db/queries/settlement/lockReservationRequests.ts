import { DatabaseOperationError } from '../../pgErrors.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type LockedRequestRow,
  type LockedReservationRequest,
  lockedRequestColumns,
  lockedRequestFromRow,
  lockedRequestJoins,
} from './settlementRecords.ts';

/**
 * Locks the requests with these ids (FOR UPDATE, in id order so that two transactions locking
 * overlapping sets queue instead of deadlocking) and reads what settling them needs. Ids without
 * a row are simply absent from the result. Must run inside the settlement transaction.
 */
export async function lockReservationRequests(
  db: PreparedQueryable,
  reservationIds: readonly string[],
): Promise<LockedReservationRequest[]> {
  if (reservationIds.length === 0) return [];
  try {
    const result = await db.query<LockedRequestRow>({
      name: 'settlement.lock_reservation_requests',
      text: `SELECT ${lockedRequestColumns}
         FROM fleet.reservation_requests r ${lockedRequestJoins}
        WHERE r.reservation_id = ANY($1::uuid[])
        ORDER BY r.reservation_id
          FOR UPDATE OF r`,
      values: [reservationIds],
    });
    return result.rows.map(lockedRequestFromRow);
  } catch (error) {
    throw new DatabaseOperationError('locking reservation requests', error);
  }
}
