-- Group commit for the ingress: many POSTs placed in one statement and one transaction.
--
-- With placement down to one round trip (009), the ingress became CPU-bound: per request one
-- execute, one commit (WAL flush) and, on this VM, costly socket writes on both sides. Requests
-- arriving while earlier batches run now wait and are placed together, as the settler does with
-- settlements (GroupCommitBatcher): the fixed costs are paid once per batch.
--
-- Semantics per request are exactly 009's, in submission order within the batch: each element
-- runs fleet.place_reservation_request, so a later element sees what an earlier one inserted
-- (the same customer's second request counts the first against the quota; the same
-- Idempotency-Key twice is a replay). Every customer's advisory lock is taken first, in ascending
-- lock-id order, so two batches naming the same customers queue instead of deadlocking; the
-- per-element lock inside 009's function is then already held (advisory locks are re-entrant
-- within a session) and the locks are released at the end of the statement's transaction.
CREATE FUNCTION fleet.place_reservation_requests(
  p_reservation_ids uuid[],
  p_customer_ids text[],
  p_vehicle_ids uuid[],
  p_starts_at timestamptz[],
  p_ends_at timestamptz[],
  p_idempotency_keys text[],
  p_request_hashes bytea[],
  p_quotas integer[],
  p_customer_locks integer[]
)
RETURNS TABLE (
  ord integer,
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
DECLARE
  lock_id integer;
BEGIN
  FOR lock_id IN SELECT DISTINCT l FROM unnest(p_customer_locks) AS l ORDER BY l LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(1718382965, lock_id); -- 0x666c7175 'flqu'
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(p_reservation_ids, 1), 0) LOOP
    RETURN QUERY
      SELECT i, p.inserted_id, p.existing_id, p.existing_hash, p.existing_status, p.vehicle_known, p.open_holds
        FROM fleet.place_reservation_request(
               p_reservation_ids[i], p_customer_ids[i], p_vehicle_ids[i], p_starts_at[i], p_ends_at[i],
               p_idempotency_keys[i], p_request_hashes[i], p_quotas[i], p_customer_locks[i]) AS p;
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION fleet.place_reservation_requests(uuid[], text[], uuid[], timestamptz[], timestamptz[], text[], bytea[], integer[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet.place_reservation_requests(uuid[], text[], uuid[], timestamptz[], timestamptz[], text[], bytea[], integer[], integer[]) TO fleetstream_app;
