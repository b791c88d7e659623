-- The placement functions keep one generic plan per statement, with index plans only.
--
-- Profiled per placement (backend CPU from /proc/<pid>/schedstat, default plan_cache_mode):
-- 741 µs of PostgreSQL CPU for a batch of one and 321 µs per request in a batch of eight; with
-- the generic plans below, 421 µs and 148 µs. The plpgsql statements of 009 and 011 are planned
-- through the plan cache, and under the default mode their custom plans (parameters fold into
-- the CTEs' estimates) kept winning, so every call re-planned 009's four-part CTE — planning
-- cost more than running it.
--
-- A generic plan is made once per session, from the statistics of that moment, and lasts until
-- an ANALYZE of the table (autovacuum's, in production) invalidates it. Every statement here is a
-- key lookup (the customer's idempotency key, the vehicle's primary key, the customer's open holds
-- through reservation_requests_customer_open_idx), and with equality on indexed columns the
-- planner chose index plans even from an inbox of a few rows. Sequential scans and hash/merge
-- joins are priced out anyway, as for the settler's sessions (whose array lookups did get
-- sequential scans from tiny tables, for good): they cost nothing measurable here and keep a
-- plan made before the first ANALYZE an index plan. They are costs, not bans, and hold only while
-- the functions run: the ingress's other statements plan as before.
-- workers/ingress/reservations/placementPlans.int.test.ts caches the plans on a few rows, grows
-- the inbox, reads the plan the function runs with, then checks that ANALYZE re-plans it.

ALTER FUNCTION fleet.place_reservation_request(uuid, text, uuid, timestamptz, timestamptz, text, bytea, integer, integer)
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off
  SET enable_hashjoin = off
  SET enable_mergejoin = off;

ALTER FUNCTION fleet.place_reservation_requests(uuid[], text[], uuid[], timestamptz[], timestamptz[], text[], bytea[], integer[], integer[])
  SET plan_cache_mode = force_generic_plan
  SET enable_seqscan = off
  SET enable_hashjoin = off
  SET enable_mergejoin = off;
