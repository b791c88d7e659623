-- What the HTTP ingress needs beyond 003: a narrow way to take back a request whose command
-- never reached Kafka, and an index for the admin listing of one customer's reservations.

-- The ingress inserts a pending row, then produces the command and answers 202 only after the
-- broker acknowledged it. When the produce fails (broker down, breaker open, timeout) it answers
-- 503 and calls this function in the same request, so a refused request leaves no phantom pending
-- reservation behind:
--   * the row becomes `rejected` with reason `enqueue_failed` through the ordinary guarded
--     transition (pending -> rejected), so the decision is final and frozen by the trigger of 003.
--     If the produce outcome was only unknown (a timeout) and the record does reach the settler
--     later, the settler finds the row decided and re-emits that decision: it never books it;
--   * its Idempotency-Key is cleared, so the client's retry with the same key is a new attempt
--     (a 5xx is not a result an idempotency key should pin).
-- If the settler decided first (the record had arrived after all), nothing changes and the
-- decided status is returned, so the ingress can answer truthfully.
--
-- Least privilege: fleetstream_app keeps no UPDATE on idempotency_key and no DELETE anywhere on
-- this table (the inbox is the audit trail). Instead it may EXECUTE this one SECURITY DEFINER
-- function, which can do exactly one thing: withdraw a still-pending row. search_path is pinned
-- and every name is qualified, so the definer's rights cannot be borrowed through a planted
-- object.
CREATE FUNCTION fleet.withdraw_unenqueued_reservation_request(p_reservation_id uuid)
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
     AND status = 'pending';
  IF FOUND THEN
    RETURN 'withdrawn';
  END IF;
  SELECT status INTO current_status
    FROM fleet.reservation_requests
   WHERE reservation_id = p_reservation_id;
  RETURN current_status; -- NULL: no such request
END
$$;

REVOKE ALL ON FUNCTION fleet.withdraw_unenqueued_reservation_request(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fleet.withdraw_unenqueued_reservation_request(uuid) TO fleetstream_app;

-- GET /v1/admin/customers/{id}/reservations pages through one customer's requests, newest first:
-- `WHERE customer_id = $1 AND (created_at, reservation_id) < ($2, $3) ORDER BY created_at DESC,
-- reservation_id DESC LIMIT n`. Without this index that is a scan of every customer's history
-- (the partial index of 003 holds open reservations only).
CREATE INDEX reservation_requests_customer_created_idx
  ON fleet.reservation_requests (customer_id, created_at DESC, reservation_id DESC);
