import { readdirSync, readFileSync } from 'node:fs';

/**
 * Extracts every PromQL query of the Grafana dashboards, for two consumers:
 * - unit tests: every panel has a query, every query names only documented metrics;
 * - the "no dead panels" integration test: runs each query against a Prometheus that scraped the
 *   fleet under load and asserts it returns data.
 * The extraction is pure (parsed JSON in, rows out); only `loadDashboards` touches the disk.
 */

export interface PanelQuery {
  /** Dashboard file name, e.g. `kafka-lag.json`. */
  dashboard: string;
  dashboardTitle: string;
  panelId: number;
  /** Panel title. */
  panel: string;
  panelType: string;
  refId: string;
  /** The query as Grafana runs it (may contain `$__rate_interval`). */
  expr: string;
  /** The query with Grafana's variables replaced, ready for Prometheus' HTTP API. */
  resolvedExpr: string;
  /** Whether Grafana runs it as an instant query. */
  instant: boolean;
  /** Metric (and recording-rule) names the query reads, sorted, without duplicates. */
  metrics: string[];
  /**
   * True when the query can only return data after a failure happened: it reads a metric of
   * `eventDrivenMetrics` or matches `eventDrivenSelectors`, and has no `or` fallback. A no-dead-panels test under healthy load must
   * expect no data from these (or inject the failure first), and data from all others.
   */
  requiresEvent: boolean;
}

/** A panel that shows data but has no non-empty query: a dead panel by construction. */
export interface PanelWithoutQuery {
  dashboard: string;
  panelId: number;
  panel: string;
}

/**
 * Series that prom-client creates on their first increment, i.e. only after a failure: handler
 * errors, retries, dead letters, failed sends, cap trips, enqueue failures.
 */
export const eventDrivenMetrics: ReadonlySet<string> = new Set([
  'fleet_consumer_messages_failed_total',
  'fleet_consumer_messages_retried_total',
  'fleet_consumer_dead_letters_total',
  'fleet_producer_send_errors_total',
  'fleet_dlq_cap_trips_total',
  'fleet_ingress_enqueue_failures_total',
]);

/**
 * Selectors that pick series existing only after a failure, although the metric itself always
 * exists: sends to a dead-letter topic (`<topic>.dlq`).
 */
export const eventDrivenSelectors: readonly RegExp[] = [/topic=~?"[^"]*\.dlq"/];

export interface GrafanaVariables {
  /** Value for `$__rate_interval` / `${__rate_interval}`; default `1m` (4 × a 15 s scrape). */
  rateInterval?: string;
  /** Value for `$__interval`; default `15s`. */
  interval?: string;
  /** Value for `$__range`; default `1h`. */
  range?: string;
}

/** Replaces the Grafana built-in variables our dashboards may use; any other `$variable` throws. */
export function resolveGrafanaVariables(expr: string, variables: GrafanaVariables = {}): string {
  const values: Record<string, string> = {
    __rate_interval: variables.rateInterval ?? '1m',
    __interval: variables.interval ?? '15s',
    __range: variables.range ?? '1h',
  };
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (match, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = values[name];
      // A dashboard variable would need a value per test; the dashboards deliberately have none.
      if (value === undefined) throw new Error(`unsupported Grafana variable ${match} in query: ${expr}`);
      return value;
    },
  );
}

// PromQL words that look like identifiers but are not metric names.
const promqlKeywords = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'limitk',
  'limit_ratio',
  'start',
  'end',
]);

/**
 * Metric names a PromQL expression reads. A lexer-level scan, enough for our dashboards and rules:
 * strings, label matchers, ranges and grouping lists are removed first; an identifier followed by
 * `(` is a function or an aggregation; keywords are skipped; numbers and durations are skipped.
 */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ');
  const stripped = withoutStrings
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\boffset\s+-?[0-9a-z.]+/gi, ' ');
  const names = new Set<string>();
  const token = /(\d[\w.]*(?:[eE][+-]?\d+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)/g;
  for (let match = token.exec(stripped); match !== null; match = token.exec(stripped)) {
    const identifier = match[2];
    if (identifier === undefined) continue;
    if (promqlKeywords.has(identifier.toLowerCase())) continue;
    const rest = stripped.slice(token.lastIndex);
    if (/^\s*\(/.test(rest)) continue;
    names.add(identifier);
  }
  return [...names].sort();
}

/** The documented name of a series name: a histogram's `_bucket`/`_count`/`_sum` map to its base when that is known. */
export function baseMetricName(name: string, known: ReadonlySet<string>): string {
  if (known.has(name)) return name;
  const base = name.replace(/_(?:bucket|count|sum)$/, '');
  return known.has(base) ? base : name;
}

interface GrafanaPanel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  targets?: unknown;
  panels?: unknown;
}

function panelsOf(dashboard: unknown): GrafanaPanel[] {
  const top = (dashboard as { panels?: unknown }).panels;
  if (!Array.isArray(top)) return [];
  // Collapsed rows keep their panels inside the row; expanded rows have them at top level.
  return top.flatMap((panel: GrafanaPanel) =>
    panel.type === 'row' && Array.isArray(panel.panels)
      ? [panel, ...(panel.panels as GrafanaPanel[])]
      : [panel],
  );
}

function hasOrFallback(expr: string): boolean {
  return /\bor\b/.test(expr.replace(/"(?:[^"\\]|\\.)*"/g, ' '));
}

/** Every (dashboard, panel, query) of one parsed dashboard; row panels carry no query and are skipped. */
export function extractPanelQueries(
  dashboard: unknown,
  file: string,
  variables: GrafanaVariables = {},
): PanelQuery[] {
  const dashboardTitle = String((dashboard as { title?: unknown }).title ?? file);
  const queries: PanelQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    if (panel.type === 'row' || !Array.isArray(panel.targets)) continue;
    for (const target of panel.targets as Array<Record<string, unknown>>) {
      const expr = typeof target.expr === 'string' ? target.expr.trim() : '';
      if (expr === '') continue;
      const resolvedExpr = resolveGrafanaVariables(expr, variables);
      const metrics = metricNamesIn(resolvedExpr);
      queries.push({
        dashboard: file,
        dashboardTitle,
        panelId: Number(panel.id),
        panel: String(panel.title ?? ''),
        panelType: String(panel.type),
        refId: String(target.refId ?? ''),
        expr,
        resolvedExpr,
        instant: target.instant === true,
        metrics,
        requiresEvent:
          (metrics.some((m) => eventDrivenMetrics.has(m)) ||
            eventDrivenSelectors.some((re) => re.test(resolvedExpr))) &&
          !hasOrFallback(resolvedExpr),
      });
    }
  }
  return queries;
}

/** Panels (other than rows) that have no non-empty query. */
export function panelsWithoutQueries(dashboard: unknown, file: string): PanelWithoutQuery[] {
  const dead: PanelWithoutQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    if (panel.type === 'row') continue;
    const targets = Array.isArray(panel.targets) ? (panel.targets as Array<Record<string, unknown>>) : [];
    if (!targets.some((t) => typeof t.expr === 'string' && t.expr.trim() !== '')) {
      dead.push({ dashboard: file, panelId: Number(panel.id), panel: String(panel.title ?? '') });
    }
  }
  return dead;
}

/** Default location of the committed dashboards. */
export const dashboardsDir = new URL('./grafana/dashboards/', import.meta.url);

/** Reads and parses every `*.json` dashboard of `dir`, sorted by file name. */
export function loadDashboards(dir: URL = dashboardsDir): Array<{ file: string; json: unknown }> {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as unknown }));
}

/** Every query of every committed dashboard. */
export function allPanelQueries(dir: URL = dashboardsDir, variables: GrafanaVariables = {}): PanelQuery[] {
  return loadDashboards(dir).flatMap(({ file, json }) => extractPanelQueries(json, file, variables));
}
