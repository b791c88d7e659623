-- The request inbox and decision record, keyed by the reservation id the ingress generates
-- (the client's request identity, not a Kafka offset, so a re-produced command finds its row).
--
-- Life of a row:
--   * The ingress inserts it as `pending` before producing the command, in the statement that
--     also enforces the Idempotency-Key, and answers 202 once the broker acknowledged. GET can
--     then always answer. If the produce fails or its outcome is unknown, the row stays pending:
--     a retry with the same key re-produces the same reservation id, and a relay may re-produce
--     stale pending rows (index below); duplicates are harmless because of the next point.
--   * The settler decides with `UPDATE … WHERE status = 'pending'` in the transaction that writes
--     the booking and the outbox event. A replayed command finds the row decided and re-emits the
--     stored decision; the trigger below makes a second decision impossible, not just unlikely.
--   * Commands produced without the ingress (harness, replays) are inserted by the settler with
--     `ON CONFLICT DO NOTHING` first. The row has no foreign key to vehicles for that reason: a
--     command for an unknown vehicle must still be recordable as rejected.
-- Rows can only be inserted as pending (the app may not write the decision columns on INSERT),
-- so every decision goes through the guarded UPDATE.

CREATE TABLE fleet.reservation_requests (
  reservation_id uuid PRIMARY KEY,
  customer_id text NOT NULL CHECK (char_length(customer_id) BETWEEN 1 AND 255),
  vehicle_id uuid NOT NULL,
  requested_period tstzrange NOT NULL,
  idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  -- sha256 of the canonical request; the same key with another hash is a client error (422).
  request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
  decision_reason text CHECK (char_length(decision_reason) BETWEEN 1 AND 500),
  decided_at timestamptz,
  -- The commands-topic position whose processing made the decision (audit and replay checks).
  decided_partition integer CHECK (decided_partition >= 0),
  decided_offset bigint CHECK (decided_offset >= 0),
  cancelled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Half-open, finite, non-empty: an empty range overlaps nothing and an infinite one blocks a
  -- vehicle forever, so neither may reach the exclusion constraint in reservations.
  CONSTRAINT reservation_requests_period_valid CHECK (
    NOT isempty(requested_period)
    AND NOT lower_inf(requested_period) AND NOT upper_inf(requested_period)
    AND lower_inc(requested_period) AND NOT upper_inc(requested_period)
  ),
  -- NULL keys are distinct, so requests without an Idempotency-Key never collide.
  CONSTRAINT reservation_requests_idempotency_key_unique UNIQUE (customer_id, idempotency_key),
  CONSTRAINT reservation_requests_decided_at_iff_decided CHECK ((status = 'pending') = (decided_at IS NULL)),
  CONSTRAINT reservation_requests_position_pair CHECK ((decided_partition IS NULL) = (decided_offset IS NULL)),
  CONSTRAINT reservation_requests_rejection_has_reason CHECK (status <> 'rejected' OR decision_reason IS NOT NULL),
  CONSTRAINT reservation_requests_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);

-- The per-customer quota of open holds (OWASP API6): `WHERE customer_id = $1 AND status IN
-- ('pending', 'confirmed') AND upper(requested_period) > now()` reads only this customer's open
-- rows, never their history.
CREATE INDEX reservation_requests_customer_open_idx
  ON fleet.reservation_requests (customer_id, upper(requested_period))
  WHERE status IN ('pending', 'confirmed');

-- For a relay that re-produces commands stuck in pending (produce outcome unknown).
CREATE INDEX reservation_requests_pending_created_idx
  ON fleet.reservation_requests (created_at)
  WHERE status = 'pending';

-- Allowed transitions: pending -> confirmed | rejected | cancelled, confirmed -> cancelled.
-- A decision, once made, is frozen: replays must re-emit it, never remake it.
CREATE FUNCTION fleet.reservation_requests_guard_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
       (OLD.status = 'pending' AND NEW.status IN ('confirmed', 'rejected', 'cancelled'))
    OR (OLD.status = 'confirmed' AND NEW.status = 'cancelled')
  ) THEN
    RAISE EXCEPTION 'reservation request % cannot go from % to %', OLD.reservation_id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'reservation_requests_status_transition';
  END IF;
  IF OLD.status <> 'pending' AND (
       NEW.decided_at IS DISTINCT FROM OLD.decided_at
    OR NEW.decision_reason IS DISTINCT FROM OLD.decision_reason
    OR NEW.decided_partition IS DISTINCT FROM OLD.decided_partition
    OR NEW.decided_offset IS DISTINCT FROM OLD.decided_offset
  ) THEN
    RAISE EXCEPTION 'reservation request % was already decided (%); its decision is immutable', OLD.reservation_id, OLD.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'reservation_requests_decision_immutable';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER reservation_requests_guard_update
  BEFORE UPDATE ON fleet.reservation_requests
  FOR EACH ROW EXECUTE FUNCTION fleet.reservation_requests_guard_update();

-- Column-level grants: inserts can only create pending requests; updates can only move the
-- decision columns. No DELETE: the inbox is the audit trail of every accepted request.
GRANT INSERT (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
  ON fleet.reservation_requests TO fleetstream_app;
GRANT UPDATE (status, decision_reason, decided_at, decided_partition, decided_offset, cancelled_at)
  ON fleet.reservation_requests TO fleetstream_app;
