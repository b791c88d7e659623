-- Settled bookings: a row exists only for a request that was confirmed (rejections have no
-- booking; their reason lives in reservation_requests). The exclusion constraint below is the
-- guarantee that no vehicle is double-booked: it holds for every writer, every replica and every
-- replay, whatever the application code does. A violation is SQLSTATE 23P01, a final rejection;
-- `INSERT … ON CONFLICT DO NOTHING` (no target) turns it into "0 rows" without an error.

CREATE TABLE fleet.reservations (
  -- Same id as the request: a booking without a request, or two bookings for one request, is impossible.
  id uuid PRIMARY KEY REFERENCES fleet.reservation_requests (reservation_id),
  vehicle_id uuid NOT NULL REFERENCES fleet.vehicles (id),
  customer_id text NOT NULL CHECK (char_length(customer_id) BETWEEN 1 AND 255),
  period tstzrange NOT NULL,
  status text NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
  -- When the booking was confirmed.
  created_at timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- NOT NULL above and this CHECK close the holes of the exclusion constraint: NULL and empty
  -- ranges overlap nothing, and infinite ones would block a vehicle forever.
  CONSTRAINT reservations_period_valid CHECK (
    NOT isempty(period)
    AND NOT lower_inf(period) AND NOT upper_inf(period)
    AND lower_inc(period) AND NOT upper_inc(period)
  ),
  CONSTRAINT reservations_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  -- Half-open [start, end) periods: a return at 10:00 and a pickup at 10:00 do not clash.
  -- Only confirmed bookings hold the vehicle; cancelled ones free it.
  CONSTRAINT reservations_no_overlap
    EXCLUDE USING gist (vehicle_id WITH =, period WITH &&) WHERE (status = 'confirmed')
);

-- Only confirmed -> cancelled; vehicle, customer and period are fixed by the column grants.
CREATE FUNCTION fleet.reservations_guard_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'confirmed' AND NEW.status = 'cancelled') THEN
    RAISE EXCEPTION 'reservation % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'reservations_status_transition';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER reservations_guard_update
  BEFORE UPDATE ON fleet.reservations
  FOR EACH ROW EXECUTE FUNCTION fleet.reservations_guard_update();

-- A new booking is always confirmed; the only later change is its cancellation. No DELETE.
GRANT INSERT (id, vehicle_id, customer_id, period) ON fleet.reservations TO fleetstream_app;
GRANT UPDATE (status, cancelled_at) ON fleet.reservations TO fleetstream_app;
