import type { QueryResult, QueryResultRow } from 'pg';

/**
 * A connection that runs named statements (a pg Client or PoolClient). Settlement runs the same
 * few statements thousands of times a second: naming them makes PostgreSQL parse each once per
 * connection and reuse its plan, instead of parsing and planning every batch anew.
 */
export interface PreparedQueryable {
  query<R extends QueryResultRow = QueryResultRow>(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<QueryResult<R>>;
}
