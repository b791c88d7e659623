-- The ledger tells a replay from an event id reused for another fact by a fingerprint (014). Its
-- first form, payload_sha256, hashed the payload *as this worker's reader schema decoded it*: after
-- a compatible schema deploy (a field added with a default, an enum symbol an older reader reads
-- as its default) the same bytes decode to another value, and every replay of an event recorded
-- before the deploy — an uncommitted tail after a rolling restart, a group reset, a DLQ replay —
-- was refused as EVENT_ID_CONFLICT and dead-lettered, with no retry able to succeed.
--
-- fact_sha256 fingerprints only what the ledger records, in the form it records it (type, rental,
-- customer, occurrence, and for money the payment/refund ids, currency and amount), which no
-- compatible schema change can alter. payload_sha256 is no longer written; a row that has only it
-- is trusted on its event id alone on replay, as rows recorded before 014 are.
-- fleetstream_app's INSERT on ledger_events is table-wide (013), so it covers the new column.
ALTER TABLE fleet.ledger_events
  ADD COLUMN fact_sha256 text CHECK (fact_sha256 ~ '^[0-9a-f]{64}$');
