-- Foundation: the extension the double-booking guard needs, and who may touch the fleet schema.
-- Runs as fleetstream_migrator, which owns the database (so it may create the trusted extension
-- btree_gist without a superuser) and the schema `fleet` (created by the runner before this file).
-- Everything lives in `fleet` rather than `public`: its privileges are ours alone to define,
-- whatever the server version's defaults for `public` are, and fleetstream_app never gets CREATE.

-- btree_gist lets one GiST index combine `vehicle_id WITH =` and `period WITH &&`.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA fleet;

-- PostgreSQL 15 already withholds CREATE on public from PUBLIC; older servers grant it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

REVOKE ALL ON SCHEMA fleet FROM PUBLIC;
GRANT USAGE ON SCHEMA fleet TO fleetstream_app, fleetstream_readonly;

-- Every table the migrator creates from here on is readable by operations and by the app.
-- Writes are never a default: each table's migration grants the exact DML the workers need.
ALTER DEFAULT PRIVILEGES FOR ROLE fleetstream_migrator IN SCHEMA fleet
  GRANT SELECT ON TABLES TO fleetstream_app, fleetstream_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE fleetstream_migrator IN SCHEMA fleet
  GRANT SELECT ON SEQUENCES TO fleetstream_readonly;
-- Functions are created for triggers; nobody needs to call them directly.
ALTER DEFAULT PRIVILEGES FOR ROLE fleetstream_migrator IN SCHEMA fleet
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Tables created before the defaults above (schema_migrations) get the same treatment.
GRANT SELECT ON ALL TABLES IN SCHEMA fleet TO fleetstream_app, fleetstream_readonly;
