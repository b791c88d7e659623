/**
 * Advisory lock keys. Every fleetstream lock uses PostgreSQL's two-int4 form
 * `pg_advisory_lock(namespace, id)`: that key space is separate from the single-bigint form, so
 * hashed per-entity locks (e.g. `pg_advisory_xact_lock(hashtextextended(vehicle_id, 0))`) can
 * never collide with these, and the namespace keeps other applications sharing a cluster apart.
 */
export const advisoryLockNamespace = 0x666c7374; // 'flst'

// Namespace 0x666c7175 ('flqu') holds the per-customer quota locks; only SQL takes them
// (migrations 009 and 011, id = 32 bits of sha256(customer) computed by the ingress's store).

/** Well-known lock ids inside `advisoryLockNamespace`. Never reuse a retired number. */
export const advisoryLockIds = Object.freeze({
  /** Held for a whole `migrate()` run, in the migrated database. */
  migrations: 1,
  /** Held while creating roles and databases, in the admin database (roles are cluster-wide). */
  bootstrap: 2,
});
