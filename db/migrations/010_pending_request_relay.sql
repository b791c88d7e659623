-- The relay of stale pending requests.
--
-- The ingress inserts a pending row, then produces its command and answers 202 after the
-- broker's acknowledgement; when the produce fails it withdraws the row in the same request
-- (migration 007). One gap remained: an ingress that dies between the insert and the produce
-- (SIGKILL, OOM, a lost node) leaves a pending row whose command may never have reached Kafka.
-- Nothing would ever decide it, and it would hold one of the customer's quota slots until its
-- period ended.
--
-- The relay (workers/ingress/reservations/pendingRelay.ts) periodically claims pending rows
-- older than a threshold far above the produce timeout and produces their ReservationRequested
-- again: the same deterministic command id and the same data, so the settler decides it once —
-- or, if the first command did arrive and is merely queued behind lag, finds it decided and
-- re-emits the same event. Re-producing, not withdrawing, is the safe choice: a row that old may
-- belong to a request that was answered 202, which must not be turned into a rejection.
--
-- relayed_at / relay_count record the claims: a row is relayed again only after the repeat
-- interval (a settler outage must not turn every sweep into a copy of the backlog), and
-- operators can see what was relayed. Neither column is indexed, so a claim is a HOT update.
ALTER TABLE fleet.reservation_requests
  ADD COLUMN relayed_at timestamptz,
  ADD COLUMN relay_count integer NOT NULL DEFAULT 0 CHECK (relay_count >= 0);

-- Least privilege: fleetstream_app gets no UPDATE on these columns; it may EXECUTE this one
-- SECURITY DEFINER function, which can only stamp a claim on rows that are still pending.
-- FOR UPDATE SKIP LOCKED lets several ingress instances sweep at once without claiming the same
-- row (nor waiting on the settler, which holds the rows it is deciding). The scan is served by
-- reservation_requests_pending_created_idx (003), which was created for this relay.
CREATE FUNCTION fleet.claim_stale_pending_requests(
  p_pending_for interval,
  p_repeat_after interval,
  p_limit integer
)
RETURNS TABLE (
  reservation_id uuid,
  customer_id text,
  vehicle_id uuid,
  starts_at timestamptz,
  ends_at timestamptz,
  idempotency_key text,
  created_at timestamptz,
  relay_count integer
)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH stale AS (
    SELECT r.reservation_id
      FROM fleet.reservation_requests r
     WHERE r.status = 'pending'
       AND r.created_at < now() - p_pending_for
       AND (r.relayed_at IS NULL OR r.relayed_at < now() - p_repeat_after)
     ORDER BY r.created_at
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  )
  UPDATE fleet.reservation_requests r
     SET relayed_at = now(),
         relay_count = r.relay_count + 1
    FROM stale
   WHERE r.reservation_id = stale.reservation_id
     AND r.status = 'pending'
  RETURNING r.reservation_id, r.customer_id, r.vehicle_id, lower(r.requested_period),
            upper(r.requested_period), r.idempotency_key, r.created_at, r.relay_count
$$;

REVOKE ALL ON FUNCTION fleet.claim_stale_pending_requests(interval, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet.claim_stale_pending_requests(interval, interval, integer) TO fleetstream_app;
