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
 * overlapping sets queue instead of deadlocking), then reads what settling them needs. Ids
 * without a row are simply absent from the result. Must run inside the settlement transaction.
 *
 * Two statements on purpose: when a lock has to wait, READ COMMITTED re-fetches the locked row
 * only, while the booking and accepted-cancellation columns read alongside it would still come
 * from the snapshot taken before the wait — a second cancellation would miss the first one's
 * event, a cancellation would miss the booking its request just got. The read runs once every
 * lock is held, in a snapshot that sees whatever the previous lock holders committed (every
 * writer of a request's booking or cancellation holds the request's row lock).
 */
export async function lockReservationRequests(
  db: PreparedQueryable,
  reservationIds: readonly string[],
): Promise<LockedReservationRequest[]> {
  if (reservationIds.length === 0) return [];
  try {
    const locked = await db.query<{ reservation_id: string }>({
      name: 'settlement.lock_reservation_requests',
      text: `SELECT r.reservation_id::text AS reservation_id
         FROM fleet.reservation_requests r
        WHERE r.reservation_id = ANY($1::uuid[])
        ORDER BY r.reservation_id
          FOR UPDATE OF r`,
      values: [reservationIds],
    });
    if (locked.rows.length === 0) return [];
    const result = await db.query<LockedRequestRow>({
      name: 'settlement.read_locked_reservation_requests',
      text: `SELECT ${lockedRequestColumns}
         FROM fleet.reservation_requests r ${lockedRequestJoins}
        WHERE r.reservation_id = ANY($1::uuid[])`,
      values: [locked.rows.map((row) => row.reservation_id)],
    });
    return result.rows.map(lockedRequestFromRow);
  } catch (error) {
    throw new DatabaseOperationError('locking reservation requests', error);
  }
}
