-- The rental ledger: a double-entry book of the money upstream rental and payment services report
-- on fleet.rental.events.v1 (workers/rental-ledger). Three guarantees live here, not in the worker,
-- so they hold for every writer, replica and replay:
--   1. every event is recorded at most once (ledger_events' primary key is the event id);
--   2. every posting set balances: per event and currency the signed amounts sum to zero
--      (a deferred constraint trigger checks each event's lines at COMMIT);
--   3. the book is append-only: postings are never updated or deleted, and a refund can never
--      exceed what its payment captured.
-- Amounts are integers in the currency's minor unit, signed: a debit is positive, a credit negative.

-- Every rental event the ledger took, whether it posted money or not (a rental starting posts
-- nothing, but is still recorded so a replay is recognised and operators see the whole stream).
CREATE TABLE fleet.ledger_events (
  event_id uuid PRIMARY KEY,
  event_type text NOT NULL CHECK (event_type IN (
    'RentalStarted', 'RentalExtended', 'RentalEnded', 'PaymentCaptured', 'RefundIssued'
  )),
  rental_id uuid NOT NULL,
  customer_id text NOT NULL CHECK (char_length(customer_id) BETWEEN 1 AND 255),
  occurred_at timestamptz NOT NULL,
  -- What happened to the money: posted a balanced set, nothing to post, or a business-key duplicate
  -- (the same payment or refund announced again under another event id: posted once, never twice).
  outcome text NOT NULL CHECK (outcome IN ('posted', 'no_posting', 'duplicate')),
  correlation_id text CHECK (char_length(correlation_id) BETWEEN 1 AND 255),
  -- Where the event was read, for audits and replays.
  source_partition integer NOT NULL CHECK (source_partition >= 0),
  source_offset bigint NOT NULL CHECK (source_offset >= 0),
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ledger_events_rental ON fleet.ledger_events (rental_id, occurred_at);

-- The lines of each event's posting set.
CREATE TABLE fleet.ledger_postings (
  event_id uuid NOT NULL REFERENCES fleet.ledger_events (event_id),
  line_no smallint NOT NULL CHECK (line_no >= 1),
  account text NOT NULL CHECK (account ~ '^(assets|liabilities|revenue):[a-z_]{1,64}$'),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
  PRIMARY KEY (event_id, line_no)
);

CREATE INDEX ledger_postings_account ON fleet.ledger_postings (account, currency);

-- Guarantee 2, checked when the transaction commits (after all of an event's lines are in).
CREATE FUNCTION fleet.ledger_postings_balance_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  unbalanced record;
BEGIN
  SELECT currency, sum(amount_minor) AS total
    INTO unbalanced
    FROM fleet.ledger_postings
   WHERE event_id = NEW.event_id
   GROUP BY currency
  HAVING sum(amount_minor) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'posting set of event % does not balance: % % off', NEW.event_id, unbalanced.total, unbalanced.currency
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_balanced';
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_postings_balanced
  AFTER INSERT ON fleet.ledger_postings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_postings_balance_check();

-- Guarantee 3 for everyone, the table owner included: a correction is a new posting set.
CREATE FUNCTION fleet.ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: post a correcting entry instead of changing %', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_append_only';
END
$$;

CREATE TRIGGER ledger_postings_append_only
  BEFORE UPDATE OR DELETE ON fleet.ledger_postings
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_append_only();

CREATE TRIGGER ledger_events_append_only
  BEFORE UPDATE OR DELETE ON fleet.ledger_events
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_append_only();

-- Captured payments, by the payment's own id: a refund finds the account its payment credited,
-- and a payment announced twice (another event id) is recognised and posted once.
CREATE TABLE fleet.ledger_payments (
  payment_id uuid PRIMARY KEY,
  rental_id uuid NOT NULL,
  customer_id text NOT NULL CHECK (char_length(customer_id) BETWEEN 1 AND 255),
  -- The account the capture credited (revenue by purpose, or the deposit liability).
  credited_account text NOT NULL,
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  captured_minor bigint NOT NULL CHECK (captured_minor > 0),
  refunded_minor bigint NOT NULL DEFAULT 0,
  captured_event_id uuid NOT NULL REFERENCES fleet.ledger_events (event_id),
  CONSTRAINT ledger_payments_refund_within_capture CHECK (refunded_minor BETWEEN 0 AND captured_minor)
);

-- Refunds, by the refund's own id (the same business-key deduplication as payments).
CREATE TABLE fleet.ledger_refunds (
  refund_id uuid PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES fleet.ledger_payments (payment_id),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  refunded_event_id uuid NOT NULL REFERENCES fleet.ledger_events (event_id)
);

-- Only a payment's refunded total moves, and only upwards.
CREATE FUNCTION fleet.ledger_payments_guard_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.refunded_minor < OLD.refunded_minor THEN
    RAISE EXCEPTION 'payment % refunded total cannot go down (% -> %)', OLD.payment_id, OLD.refunded_minor, NEW.refunded_minor
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_payments_refunds_only_grow';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER ledger_payments_guard_update
  BEFORE UPDATE ON fleet.ledger_payments
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_payments_guard_update();

-- The trial balance: every account's balance per currency. Summed over all accounts it is zero.
CREATE VIEW fleet.ledger_account_balances AS
SELECT account, currency, sum(amount_minor)::bigint AS balance_minor, count(*)::bigint AS postings
  FROM fleet.ledger_postings
 GROUP BY account, currency;

GRANT SELECT ON fleet.ledger_account_balances TO fleetstream_app, fleetstream_readonly;
GRANT INSERT ON fleet.ledger_events, fleet.ledger_postings, fleet.ledger_payments, fleet.ledger_refunds
  TO fleetstream_app;
GRANT UPDATE (refunded_minor) ON fleet.ledger_payments TO fleetstream_app;
