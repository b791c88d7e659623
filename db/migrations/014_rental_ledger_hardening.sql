-- The rental ledger's guarantees moved from the worker into the database, after a review of 013:
--   1. an event id reused for another fact is told apart from a replay (the fact's fingerprint);
--   2. a payment's refunded total is kept by the database from its refunds, so no writer can set it
--      (the application role loses its UPDATE on ledger_payments and may not insert a total);
--   3. TRUNCATE is refused on every ledger table, and refunds are append-only like the book.

-- 1. SHA-256 of the event's payload as first recorded. NULL only for rows recorded before this
-- migration, whose replays are trusted on their event id alone, as before.
ALTER TABLE fleet.ledger_events
  ADD COLUMN payload_sha256 text CHECK (payload_sha256 ~ '^[0-9a-f]{64}$');

-- 2. Each refund adds itself to its payment's total. SECURITY DEFINER: it runs as the tables'
-- owner, so the application role needs no UPDATE on ledger_payments at all; the CHECK of 013
-- (refunded_minor BETWEEN 0 AND captured_minor) still refuses an over-refund, whoever inserts it.
CREATE FUNCTION fleet.ledger_refunds_apply() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE fleet.ledger_payments
     SET refunded_minor = refunded_minor + NEW.amount_minor
   WHERE payment_id = NEW.payment_id;
  RETURN NULL;
END
$$;

CREATE TRIGGER ledger_refunds_apply
  AFTER INSERT ON fleet.ledger_refunds
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_refunds_apply();

REVOKE UPDATE ON fleet.ledger_payments FROM fleetstream_app;
REVOKE INSERT ON fleet.ledger_payments FROM fleetstream_app;
-- Every column but refunded_minor, which starts at 0 and moves only through refunds.
GRANT INSERT (payment_id, rental_id, customer_id, credited_account, currency, captured_minor, captured_event_id)
  ON fleet.ledger_payments TO fleetstream_app;

-- 3. Refunds are part of the book: never changed or removed. And no ledger table is emptied by a
-- TRUNCATE, which row triggers do not see.
CREATE TRIGGER ledger_refunds_append_only
  BEFORE UPDATE OR DELETE ON fleet.ledger_refunds
  FOR EACH ROW EXECUTE FUNCTION fleet.ledger_append_only();

CREATE TRIGGER ledger_events_no_truncate
  BEFORE TRUNCATE ON fleet.ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION fleet.ledger_append_only();
CREATE TRIGGER ledger_postings_no_truncate
  BEFORE TRUNCATE ON fleet.ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fleet.ledger_append_only();
CREATE TRIGGER ledger_payments_no_truncate
  BEFORE TRUNCATE ON fleet.ledger_payments
  FOR EACH STATEMENT EXECUTE FUNCTION fleet.ledger_append_only();
CREATE TRIGGER ledger_refunds_no_truncate
  BEFORE TRUNCATE ON fleet.ledger_refunds
  FOR EACH STATEMENT EXECUTE FUNCTION fleet.ledger_append_only();
