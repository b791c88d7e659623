-- A retry must not lose to its own original's withdrawal.
--
-- A POST replayed with its Idempotency-Key while the first attempt is still in flight finds the
-- row `pending` and produces the same command again (same deterministic command id). Until this
-- migration the first attempt, when its own produce then failed, withdrew the row (007): the
-- retry had answered 202 after its broker acknowledgement, yet the reservation ended
-- `rejected` / `enqueue_failed` — a 202 turned into a rejection the client never caused, and a
-- command in Kafka for a row already decided.
--
-- Now a replay claims the row before it produces, with the relay's stamp (010: relayed_at,
-- relay_count; neither is indexed, so the claim is a HOT update), and a withdrawal takes only a
-- row nobody else has claimed. Both statements lock the row, so exactly one of them wins:
--   * the replay first: the withdrawal leaves the row pending and reports `pending`; the first
--     attempt answers 503 (its own produce failed; the retry's outcome is the retry's), and if
--     the retry's produce fails as well the relay re-produces the row later — re-producing,
--     never withdrawing, a row someone may have been answered 202 for;
--   * the withdrawal first: the claim reports `withdrawn`, the replay produces nothing and
--     answers 503, and its key is free again (007), so the next retry is a new attempt.
-- The relay's own claims only take rows pending for at least twice the produce timeout, long
-- after the first attempt withdrew or answered, so they do not change when a withdrawal happens.

CREATE FUNCTION fleet.claim_pending_request_for_replay(p_reservation_id uuid)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  current_status text;
  current_reason text;
BEGIN
  UPDATE fleet.reservation_requests
     SET relayed_at = now(),
         relay_count = relay_count + 1
   WHERE reservation_id = p_reservation_id
     AND status = 'pending';
  IF FOUND THEN
    RETURN 'claimed';
  END IF;
  SELECT status, decision_reason INTO current_status, current_reason
    FROM fleet.reservation_requests
   WHERE reservation_id = p_reservation_id;
  IF current_status = 'rejected' AND current_reason = 'enqueue_failed' THEN
    RETURN 'withdrawn';
  END IF;
  RETURN current_status; -- NULL: no such request
END
$$;

REVOKE ALL ON FUNCTION fleet.claim_pending_request_for_replay(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet.claim_pending_request_for_replay(uuid) TO fleetstream_app;

-- 007's function, now leaving a claimed row alone (relay_count > 0).
CREATE OR REPLACE FUNCTION fleet.withdraw_unenqueued_reservation_request(p_reservation_id uuid)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  current_status text;
BEGIN
  UPDATE fleet.reservation_requests
     SET status = 'rejected',
         decision_reason = 'enqueue_failed',
         decided_at = now(),
         idempotency_key = NULL
   WHERE reservation_id = p_reservation_id
     AND status = 'pending'
     AND relay_count = 0;
  IF FOUND THEN
    RETURN 'withdrawn';
  END IF;
  SELECT status INTO current_status
    FROM fleet.reservation_requests
   WHERE reservation_id = p_reservation_id;
  RETURN current_status; -- NULL: no such request; 'pending': claimed by a replay or the relay
END
$$;
