-- Transactional outbox: the settler writes an outcome event in the same transaction as the
-- decision, so an event exists if and only if the decision committed. A publisher relays rows.
--
-- Publishing reads `WHERE published_at IS NULL ORDER BY id … FOR UPDATE SKIP LOCKED`, never
-- "id > last seen": identity values are handed out at insert but become visible at commit, out
-- of order, so a high-water mark skips rows whose transaction committed late. Per-key order
-- still holds: the settler serialises each vehicle, so one key's rows commit in id order.
-- One active publisher (elected by an advisory lock) keeps that order on the wire; SKIP LOCKED
-- keeps a publisher overlapping it during failover from re-sending rows already claimed.

CREATE TABLE fleet.outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Deterministic per event (e.g. derived from reservation id and outcome): a replay inserts
  -- with ON CONFLICT (event_id) DO NOTHING, and consumers deduplicate on the header carrying it.
  event_id uuid NOT NULL UNIQUE,
  topic text NOT NULL CHECK (topic ~ '^[A-Za-z0-9._-]{1,249}$'),
  message_key text,
  -- Encoded at write time (Confluent wire format): the publisher copies bytes, and a re-emitted
  -- event is byte-identical to the first emission.
  value bytea NOT NULL,
  -- Kafka headers as a flat object of strings (traceparent, event id, correlation id).
  headers jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(headers) = 'object' AND NOT jsonb_path_exists(headers, '$.* ? (@.type() != "string")')),
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  publish_attempts integer NOT NULL DEFAULT 0 CHECK (publish_attempts >= 0),
  last_error text
);

-- The publisher's work queue: only unpublished rows, in id order.
CREATE INDEX outbox_unpublished_idx ON fleet.outbox (id) WHERE published_at IS NULL;

-- Retention may delete published rows; deleting an unpublished one would lose an event.
CREATE FUNCTION fleet.outbox_guard_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.published_at IS NULL THEN
    RAISE EXCEPTION 'outbox row % (event %) is not published yet', OLD.id, OLD.event_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_delete_only_published';
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER outbox_guard_delete
  BEFORE DELETE ON fleet.outbox
  FOR EACH ROW EXECUTE FUNCTION fleet.outbox_guard_delete();

GRANT INSERT (event_id, topic, message_key, value, headers) ON fleet.outbox TO fleetstream_app;
GRANT UPDATE (published_at, publish_attempts, last_error) ON fleet.outbox TO fleetstream_app;
-- The only DELETE the app holds anywhere: pruning published events.
GRANT DELETE ON fleet.outbox TO fleetstream_app;
