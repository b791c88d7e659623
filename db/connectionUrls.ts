/**
 * The same server as `baseUrl`, logged in as `role` to `database` (when given). The password is
 * dropped: it belonged to the base URL's user, and sending it on behalf of another role would
 * leak one role's secret to another's authentication attempt.
 */
export function connectionUrlFor(baseUrl: string, role: string, database?: string): string {
  const url = new URL(baseUrl);
  url.username = encodeURIComponent(role);
  url.password = '';
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The database name a connection URL points at (PostgreSQL's default: the user's name). */
export function databaseNameOf(connectionUrl: string): string {
  const url = new URL(connectionUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name === '' ? decodeURIComponent(url.username) : name;
}

/** The URL without its password, for logs and error messages. */
export function redactConnectionUrl(connectionUrl: string): string {
  try {
    const url = new URL(connectionUrl);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable connection URL)';
  }
}
