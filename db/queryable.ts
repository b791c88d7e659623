import type { QueryResult, QueryResultRow } from 'pg';

/** Anything that runs a parameterised query: a Pool, a Client, or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}
