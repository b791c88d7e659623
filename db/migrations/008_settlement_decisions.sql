-- What the reservation settler stores with each decision so that a replayed command re-emits
-- exactly the event it emitted the first time (same event id, time, causation and correlation),
-- and a record of every cancellation command's decision, keyed by the command id.
--
-- Why the settler needs this: it produces the outcome event after COMMIT, and the command's offset
-- is committed only after that produce was acknowledged. A crash in between replays the command;
-- the replay finds the decision here and rebuilds the same event from it. The command log plus the
-- uncommitted offset is the outbox; these columns are what makes the rebuilt event identical.

-- The decision of the reservation request itself. `status` may move on later (confirmed ->
-- cancelled); `decided_status` keeps what was decided, so a replay of the request still re-emits
-- "confirmed" (with its original event id) after the booking was cancelled.
ALTER TABLE fleet.reservation_requests
  ADD COLUMN decided_status text CHECK (decided_status IN ('confirmed', 'rejected', 'cancelled')),
  ADD COLUMN decision_event_id uuid,
  ADD COLUMN decision_command_id uuid,
  ADD COLUMN decision_correlation_id text CHECK (char_length(decision_correlation_id) BETWEEN 1 AND 255),
  ADD CONSTRAINT reservation_requests_decision_event_id_unique UNIQUE (decision_event_id),
  -- A pending request has no decision record; a decision record always names its event.
  ADD CONSTRAINT reservation_requests_decision_record_only_when_decided CHECK (
    status <> 'pending'
    OR (decided_status IS NULL AND decision_event_id IS NULL AND decision_command_id IS NULL
        AND decision_correlation_id IS NULL)
  ),
  ADD CONSTRAINT reservation_requests_decision_record_complete CHECK (
    (decided_status IS NULL) = (decision_event_id IS NULL)
  ),
  -- The recorded decision agrees with where the row is now: a rejection stays a rejection, a
  -- confirmation may only have been cancelled since, a cancellation is final.
  ADD CONSTRAINT reservation_requests_decided_status_consistent CHECK (
    decided_status IS NULL
    OR (decided_status = 'rejected' AND status = 'rejected')
    OR (decided_status = 'confirmed' AND status IN ('confirmed', 'cancelled'))
    OR (decided_status = 'cancelled' AND status = 'cancelled')
  );

-- The same guard as in 003, extended to the new decision columns: once decided, frozen.
CREATE OR REPLACE FUNCTION fleet.reservation_requests_guard_update() RETURNS trigger
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
    OR NEW.decided_status IS DISTINCT FROM OLD.decided_status
    OR NEW.decision_event_id IS DISTINCT FROM OLD.decision_event_id
    OR NEW.decision_command_id IS DISTINCT FROM OLD.decision_command_id
    OR NEW.decision_correlation_id IS DISTINCT FROM OLD.decision_correlation_id
  ) THEN
    RAISE EXCEPTION 'reservation request % was already decided (%); its decision is immutable', OLD.reservation_id, OLD.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'reservation_requests_decision_immutable';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

GRANT UPDATE (decided_status, decision_event_id, decision_command_id, decision_correlation_id)
  ON fleet.reservation_requests TO fleetstream_app;

-- Every cancellation command's decision, accepted or refused. Keyed by the command id (a
-- cancellation has no inbox row of its own): a replayed cancellation finds its decision here and
-- re-emits it, even if the reservation changed since. No foreign key to the request: a refusal
-- of an unknown reservation id must be recordable too.
CREATE TABLE fleet.cancellation_decisions (
  command_id uuid PRIMARY KEY,
  -- The reservation the command named (for a refusal, possibly unknown or someone else's).
  reservation_id uuid NOT NULL,
  -- The customer who asked (token subject); for an accepted cancellation, the owner.
  customer_id text NOT NULL CHECK (char_length(customer_id) BETWEEN 1 AND 255),
  vehicle_id uuid NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('cancelled', 'rejected')),
  -- A RejectionReason symbol of the events schema; only refusals have one.
  reason text CHECK (reason ~ '^[a-z_]{1,64}$'),
  event_id uuid NOT NULL UNIQUE,
  correlation_id text CHECK (char_length(correlation_id) BETWEEN 1 AND 255),
  decided_at timestamptz NOT NULL,
  decided_partition integer NOT NULL CHECK (decided_partition >= 0),
  decided_offset bigint NOT NULL CHECK (decided_offset >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cancellation_decisions_reason_iff_rejected CHECK ((outcome = 'rejected') = (reason IS NOT NULL))
);

-- A reservation is cancelled at most once; a later cancellation by its owner re-emits this one.
CREATE UNIQUE INDEX cancellation_decisions_one_accepted_per_reservation
  ON fleet.cancellation_decisions (reservation_id)
  WHERE outcome = 'cancelled';

-- Append-only: decisions are never updated nor deleted.
GRANT INSERT (command_id, reservation_id, customer_id, vehicle_id, outcome, reason, event_id, correlation_id,
              decided_at, decided_partition, decided_offset)
  ON fleet.cancellation_decisions TO fleetstream_app;
