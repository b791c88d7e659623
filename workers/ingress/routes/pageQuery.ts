import { type FieldError, validationProblem } from '../http/problemDetails.ts';

/** Largest page any listing serves (OWASP API4: a client cannot ask for the whole table). */
export const maxPageSize = 100;

/**
 * Reads `?limit=&cursor=` strictly: `limit` an integer 1..100, each parameter at most once, and
 * no other parameter (a misspelt one is an error, not silently ignored).
 */
export function parsePageQuery(
  query: unknown,
  defaultLimit: number,
): { limit: number; cursor: string | undefined } {
  const params = (query ?? {}) as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const name of Object.keys(params)) {
    if (name !== 'limit' && name !== 'cursor') {
      errors.push({ field: name, in: 'query', detail: 'is not a parameter of this listing (limit, cursor)' });
    }
  }
  let limit = defaultLimit;
  const rawLimit = params.limit;
  if (rawLimit !== undefined) {
    if (
      typeof rawLimit !== 'string' ||
      !/^\d{1,4}$/.test(rawLimit) ||
      Number(rawLimit) < 1 ||
      Number(rawLimit) > maxPageSize
    ) {
      errors.push({ field: 'limit', in: 'query', detail: `must be an integer between 1 and ${maxPageSize}` });
    } else {
      limit = Number(rawLimit);
    }
  }
  const rawCursor = params.cursor;
  if (rawCursor !== undefined && typeof rawCursor !== 'string') {
    errors.push({ field: 'cursor', in: 'query', detail: 'must be given once' });
  }
  if (errors.length > 0) throw validationProblem(errors);
  return { limit, cursor: typeof rawCursor === 'string' ? rawCursor : undefined };
}
