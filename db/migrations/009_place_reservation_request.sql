-- Placing a pending reservation request in one round trip.
--
-- Until now the ingress held a pooled connection for three round trips per POST (BEGIN + the
-- customer's advisory lock, the insert statement, COMMIT). Profiling the ingress at its ceiling
-- showed it ~45% idle, every request queued for one of those connections: the hold time, not
-- CPU, capped throughput. This function does the same work inside the statement's implicit
-- transaction, so one Bind/Execute/Sync takes the lock, decides and commits.
--
-- Semantics are those of the statement it replaces (workers/ingress/reservations/reservationStore.ts):
--   * the customer's transaction-scoped advisory lock (namespace 'flqu' = 0x666c7175, id computed
--     by the caller) serialises count-then-insert, so two parallel requests cannot both take the
--     last quota slot; it is released at the end of the implicit transaction;
--   * the idempotent replay, the catalog check, the quota count and the insert, with
--     ON CONFLICT DO NOTHING (no target) so a writer that skips the lock (the settler recording a
--     foreign command) leaves nothing inserted and the caller reads again.
--
-- SECURITY INVOKER: it runs with the caller's own rights (fleetstream_app may already select and
-- insert these columns), so it grants nothing new; search_path is pinned and names qualified.
CREATE FUNCTION fleet.place_reservation_request(
  p_reservation_id uuid,
  p_customer_id text,
  p_vehicle_id uuid,
  p_starts_at timestamptz,
  p_ends_at timestamptz,
  p_idempotency_key text,
  p_request_hash bytea,
  p_quota integer,
  p_customer_lock integer
)
RETURNS TABLE (
  inserted_id uuid,
  existing_id uuid,
  existing_hash bytea,
  existing_status text,
  vehicle_known boolean,
  open_holds integer
)
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(1718382965, p_customer_lock); -- 0x666c7175 'flqu'
  RETURN QUERY
  WITH existing AS (
    SELECT r.reservation_id, r.request_hash, r.status
    FROM fleet.reservation_requests r
    WHERE r.customer_id = p_customer_id AND r.idempotency_key = p_idempotency_key
  ), vehicle AS (
    SELECT 1 FROM fleet.vehicles v WHERE v.id = p_vehicle_id AND v.active
  ), holds AS (
    SELECT count(*)::int AS n
    FROM fleet.reservation_requests r
    WHERE r.customer_id = p_customer_id AND r.status IN ('pending', 'confirmed')
      AND upper(r.requested_period) > now()
  ), inserted AS (
    INSERT INTO fleet.reservation_requests
      (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
    SELECT p_reservation_id, p_customer_id, p_vehicle_id, tstzrange(p_starts_at, p_ends_at, '[)'),
           p_idempotency_key, p_request_hash
    WHERE NOT EXISTS (SELECT 1 FROM existing)
      AND EXISTS (SELECT 1 FROM vehicle)
      AND (SELECT n FROM holds) < p_quota
    ON CONFLICT DO NOTHING
    RETURNING reservation_id
  )
  SELECT (SELECT i.reservation_id FROM inserted i),
         (SELECT e.reservation_id FROM existing e),
         (SELECT e.request_hash FROM existing e),
         (SELECT e.status FROM existing e),
         EXISTS (SELECT 1 FROM vehicle),
         (SELECT h.n FROM holds h);
END
$$;

REVOKE ALL ON FUNCTION fleet.place_reservation_request(uuid, text, uuid, timestamptz, timestamptz, text, bytea, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet.place_reservation_request(uuid, text, uuid, timestamptz, timestamptz, text, bytea, integer, integer) TO fleetstream_app;
