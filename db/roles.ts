/**
 * The database roles and the schema every migration and query names. They are fixed names,
 * not configuration, because the migrations grant to them by name.
 */
export const dbRoles = Object.freeze({
  /** Owns the `fleet` schema and every table in it; all DDL runs as this role. */
  migrator: 'fleetstream_migrator',
  /** The workers and the ingress: only the DML they need. */
  app: 'fleetstream_app',
  /** Operations and dashboards: SELECT only. */
  readonly: 'fleetstream_readonly',
});

/** A role name from `dbRoles`. */
export type DbRole = (typeof dbRoles)[keyof typeof dbRoles];

/** The schema holding every fleetstream table; queries always qualify names with it. */
export const fleetSchema = 'fleet';
