-- The rentable vehicles. The workers only read it (no write grant): the catalog is maintained by
-- migrations, operations and, on the local stack only, `node db/cli.ts seed-local`.

CREATE TABLE fleet.vehicles (
  id uuid PRIMARY KEY,
  display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 120),
  vehicle_class text NOT NULL
    CHECK (vehicle_class IN ('economy', 'compact', 'midsize', 'fullsize', 'suv', 'van', 'premium', 'electric')),
  -- IATA-style city code and depot number, e.g. BER-01.
  depot_code text NOT NULL CHECK (depot_code ~ '^[A-Z]{3}-[0-9]{2}$'),
  -- Minor units (cents) so no rate is ever a float; integer covers 21 million per day.
  daily_rate_minor integer NOT NULL CHECK (daily_rate_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Retired vehicles stay (old bookings reference them) but are neither listed nor bookable.
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- GET /v1/vehicles pages through active vehicles with `WHERE active AND id > $cursor ORDER BY id
-- LIMIT n`; this partial index yields that order directly and never visits retired vehicles.
CREATE INDEX vehicles_active_id_idx ON fleet.vehicles (id) WHERE active;
