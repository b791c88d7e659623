import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  allPanelQueries,
  baseMetricName,
  extractPanelQueries,
  loadDashboards,
  metricNamesIn,
  panelsWithoutQueries,
  resolveGrafanaVariables,
} from './panelQueries.ts';

const docsMetrics = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
const rulesDir = new URL('./prometheus/rules/', import.meta.url);

/** Backticked metric names of the first column of the README's "Metric names beyond docs/metrics.md" table. */
function readmeMetricNames(): Set<string> {
  const section = readme
    .split(/^## /m)
    .find((part) => part.startsWith('Metric names beyond docs/metrics.md'));
  if (!section)
    throw new Error('dashboards/README.md lost its "Metric names beyond docs/metrics.md" section');
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const first = line.split('|')[1]?.trim() ?? '';
    const name = /^`([a-zA-Z_:][a-zA-Z0-9_:]*)`$/.exec(first)?.[1];
    if (name) names.add(name);
  }
  return names;
}

/** Names docs/metrics.md spells out in backticks (tables and prose: Node default metrics live in prose). */
function docsMetricNames(): Set<string> {
  return new Set([...docsMetrics.matchAll(/`([a-z_][a-z0-9_]*)`/g)].map((m) => m[1] ?? ''));
}

/** Recording rules defined in dashboards/prometheus/rules: dashboards may read them. */
function recordedNames(): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(rulesDir).filter((f) => f.endsWith('.yml'))) {
    const doc = parse(readFileSync(new URL(file, rulesDir), 'utf8')) as {
      groups: Array<{ rules: Array<{ record?: string }> }>;
    };
    for (const group of doc.groups) for (const rule of group.rules) if (rule.record) names.add(rule.record);
  }
  return names;
}

let knownNames: Set<string> | undefined;

/** Metric names of `queries` that no document lists: what the "documented metrics" test reports. */
function undocumented(metrics: Iterable<string>): string[] {
  knownNames ??= new Set([...docsMetricNames(), ...readmeMetricNames(), ...recordedNames()]);
  const known = knownNames;
  return [...metrics].filter((name) => !known.has(baseMetricName(name, known)));
}

describe('metricNamesIn', () => {
  it('finds metric names and skips functions, keywords, labels, strings, ranges and numbers', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (worker, le) (rate(fleet_consumer_handler_duration_seconds_bucket{topic="a.b", le!="1e3"}[5m])))',
      ),
    ).toEqual(['fleet_consumer_handler_duration_seconds_bucket']);
    expect(
      metricNamesIn(
        '(sum(rate(http_requests_total{status=~"5.."}[1m])) or vector(0)) / on () group_left sum without (instance) (rate(http_requests_total[1m] offset 5m)) > bool 1e-3',
      ),
    ).toEqual(['http_requests_total']);
    expect(metricNamesIn('fleet:ingress_request_errors:ratio_rate1h > (14.4 * 0.001) and up == 0')).toEqual([
      'fleet:ingress_request_errors:ratio_rate1h',
      'up',
    ]);
    expect(
      metricNamesIn('absent(kafka_consumergroup_lag{consumergroup="x"}) unless count(nan_metric)'),
    ).toEqual(['kafka_consumergroup_lag', 'nan_metric']);
  });

  it('maps histogram series to their documented base name', () => {
    const known = new Set(['http_request_duration_seconds', 'fleet_x_count']);
    expect(baseMetricName('http_request_duration_seconds_bucket', known)).toBe(
      'http_request_duration_seconds',
    );
    expect(baseMetricName('http_request_duration_seconds_count', known)).toBe(
      'http_request_duration_seconds',
    );
    expect(baseMetricName('fleet_x_count', known)).toBe('fleet_x_count');
    expect(baseMetricName('unknown_total', known)).toBe('unknown_total');
  });
});

describe('resolveGrafanaVariables', () => {
  it('replaces the built-in intervals and refuses dashboard variables', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${var} form, not a JS template.
    expect(resolveGrafanaVariables('rate(x[$__rate_interval]) + rate(y[${__interval}])')).toBe(
      'rate(x[1m]) + rate(y[15s])',
    );
    expect(resolveGrafanaVariables('rate(x[$__rate_interval])', { rateInterval: '20s' })).toBe(
      'rate(x[20s])',
    );
    expect(() => resolveGrafanaVariables('up{job="$job"}')).toThrow(/unsupported Grafana variable \$job/);
  });
});

describe('extractPanelQueries', () => {
  const sample = {
    title: 'Sample',
    panels: [
      { id: 1, type: 'row', title: 'Row', panels: [] },
      {
        id: 2,
        type: 'timeseries',
        title: 'Two queries',
        targets: [
          { refId: 'A', expr: 'sum(rate(fleet_consumer_dead_letters_total[$__rate_interval]))' },
          {
            refId: 'B',
            expr: '(sum(rate(fleet_consumer_dead_letters_total[1m])) or vector(0))',
            instant: true,
          },
        ],
      },
      {
        id: 3,
        type: 'row',
        title: 'Collapsed',
        collapsed: true,
        panels: [{ id: 4, type: 'stat', title: 'Nested', targets: [{ refId: 'A', expr: 'up' }] }],
      },
      { id: 5, type: 'timeseries', title: 'Empty', targets: [{ refId: 'A', expr: '  ' }] },
      { id: 6, type: 'text', title: 'No targets' },
    ],
  };

  it('returns every query with its panel, resolved expression, metrics and event dependency', () => {
    const queries = extractPanelQueries(sample, 'sample.json');
    expect(queries.map((q) => [q.panelId, q.refId, q.resolvedExpr, q.requiresEvent, q.instant])).toEqual([
      [2, 'A', 'sum(rate(fleet_consumer_dead_letters_total[1m]))', true, false],
      [2, 'B', '(sum(rate(fleet_consumer_dead_letters_total[1m])) or vector(0))', false, true],
      [4, 'A', 'up', false, false],
    ]);
    expect(queries[0]).toMatchObject({
      dashboard: 'sample.json',
      dashboardTitle: 'Sample',
      panel: 'Two queries',
    });
    expect(queries[2]?.metrics).toEqual(['up']);
  });

  it('reports panels without a non-empty query', () => {
    expect(panelsWithoutQueries(sample, 'sample.json').map((p) => p.panelId)).toEqual([5, 6]);
  });

  it('reports a metric name that no document lists', () => {
    expect(undocumented(['fleet_consumer_in_flight', 'up', 'fleet_not_a_metric_total'])).toEqual([
      'fleet_not_a_metric_total',
    ]);
  });
});

describe('the committed dashboards', () => {
  const dashboards = loadDashboards();
  const queries = allPanelQueries();

  it('are the five dashboards of the fleet', () => {
    expect(dashboards.map((d) => d.file)).toEqual([
      'dlq-and-breakers.json',
      'fleet-overview.json',
      'kafka-lag.json',
      'ledger-and-notifications.json',
      'reservations.json',
    ]);
  });

  it('have no panel without a query', () => {
    const dead = dashboards.flatMap(({ file, json }) => panelsWithoutQueries(json, file));
    expect(dead).toEqual([]);
    expect(queries.length).toBeGreaterThanOrEqual(40);
  });

  it('give every panel a title and a description', () => {
    for (const { file, json } of dashboards) {
      for (const panel of (json as { panels: Array<Record<string, unknown>> }).panels) {
        if (panel.type === 'row') continue;
        expect(String(panel.title ?? '').length, `${file} panel ${panel.id}`).toBeGreaterThan(3);
        expect(String(panel.description ?? '').length, `${file} ${panel.title}`).toBeGreaterThan(20);
      }
    }
  });

  it('read only metrics documented in docs/metrics.md, the README list or the recording rules', () => {
    const problems = queries.flatMap((q) =>
      undocumented(q.metrics).map((name) => `${q.dashboard} / ${q.panel} / ${q.refId}: ${name}`),
    );
    expect(problems).toEqual([]);
  });

  it('mark exactly the queries that need a failure to return data', () => {
    const needingEvent = queries.filter((q) => q.requiresEvent).map((q) => `${q.dashboard} / ${q.panel}`);
    // Each of these panels says "Empty while …" in its description; the rest must show data on a healthy fleet.
    expect(needingEvent.sort()).toEqual(
      [
        'dlq-and-breakers.json / Cap trips by cap',
        'dlq-and-breakers.json / DLQ writes acknowledged per second',
        'dlq-and-breakers.json / Dead letters per second by topic and reason',
        'dlq-and-breakers.json / Handler failures by error class',
        'dlq-and-breakers.json / Retries per second by topic',
        'fleet-overview.json / Handler failures per second by error class',
        'fleet-overview.json / Producer send errors per second',
        'reservations.json / Enqueue failures per second',
        'reservations.json / Settler handler failures by error class',
      ].sort(),
    );
  });
});
