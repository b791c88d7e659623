/**
 * A small typed model of the Grafana dashboards we ship and the function that renders one to
 * Grafana's JSON (schemaVersion 39). The JSON files under dashboards/grafana/dashboards/ are
 * generated from fleetDashboards.ts with `npx node dashboards/grafana/build.ts`: hand-edited JSON drifts
 * (ids, grid positions, datasource references), and a test fails when the committed files and the
 * generator disagree.
 */

/** The provisioned Prometheus datasource (provisioning/datasources/prometheus.yml) by fixed uid. */
export const prometheusDatasource = Object.freeze({ type: 'prometheus', uid: 'prometheus' });

export const grafanaSchemaVersion = 39;

export type PanelType = 'timeseries' | 'stat' | 'table' | 'heatmap' | 'state-timeline' | 'bargauge';

/** One PromQL query of a panel. `$__rate_interval` is the only Grafana variable the queries use. */
export interface QuerySpec {
  expr: string;
  /** Grafana legend template, e.g. `{{worker}}`. */
  legend?: string;
  /** Instant query (tables, stats of "now"); range otherwise. */
  instant?: boolean;
  /** `heatmap` for histogram buckets; `table` for table panels. */
  format?: 'time_series' | 'table' | 'heatmap';
}

export interface ValueMapping {
  value: number;
  text: string;
  color: string;
}

export interface PanelSpec {
  type: PanelType;
  title: string;
  /** Shown as the (i) tooltip: what the panel shows and how to read it. Required: no unexplained panel. */
  description: string;
  queries: QuerySpec[];
  /** Grafana unit id: s, reqps, ops, percentunit, bytes, short, none. */
  unit?: string;
  /** Grid width out of 24; default 12. */
  width?: number;
  /** Grid height; default 8. */
  height?: number;
  min?: number;
  max?: number;
  /** Colour below the first threshold; default green (red where 0 is the bad value, e.g. targets up). */
  baseColor?: string;
  /** Threshold steps after the base colour, e.g. [{value: 60, color: 'red'}]. */
  thresholds?: Array<{ value: number; color: string }>;
  /** Draw thresholds as dashed lines on time series. */
  showThresholds?: boolean;
  mappings?: ValueMapping[];
  stacked?: boolean;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  /** File name without `.json`; also the dashboard uid. */
  uid: string;
  title: string;
  description: string;
  tags: string[];
  rows: RowSpec[];
}

/** Grafana dashboard JSON: an open record, since Grafana's model is large and we only write to it. */
export type GrafanaJson = Record<string, unknown>;

const refIds = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function target(query: QuerySpec, index: number): GrafanaJson {
  const refId = refIds[index];
  if (refId === undefined) throw new RangeError('a panel holds at most 26 queries');
  return {
    datasource: prometheusDatasource,
    refId,
    expr: query.expr.trim(),
    legendFormat: query.legend ?? '__auto',
    range: !query.instant,
    instant: Boolean(query.instant),
    format: query.format ?? 'time_series',
    editorMode: 'code',
  };
}

function fieldConfig(panel: PanelSpec): GrafanaJson {
  const steps: GrafanaJson[] = [{ color: panel.baseColor ?? 'green', value: null }];
  for (const step of panel.thresholds ?? []) steps.push({ color: step.color, value: step.value });
  const defaults: GrafanaJson = {
    unit: panel.unit ?? 'short',
    thresholds: { mode: 'absolute', steps },
    mappings: (panel.mappings ?? []).map((m) => ({
      type: 'value',
      options: { [String(m.value)]: { text: m.text, color: m.color, index: 0 } },
    })),
  };
  if (panel.min !== undefined) defaults.min = panel.min;
  if (panel.max !== undefined) defaults.max = panel.max;
  if (panel.type === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: panel.stacked ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: panel.stacked ? 'normal' : 'none', group: 'A' },
      thresholdsStyle: { mode: panel.showThresholds ? 'dashed' : 'off' },
    };
  }
  if (panel.type === 'state-timeline') defaults.color = { mode: 'thresholds' };
  return { defaults, overrides: [] };
}

function options(panel: PanelSpec): GrafanaJson {
  switch (panel.type) {
    case 'timeseries':
      return {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
    case 'stat':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'none',
        textMode: 'value_and_name',
        justifyMode: 'auto',
        orientation: 'auto',
      };
    case 'bargauge':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        displayMode: 'gradient',
        orientation: 'horizontal',
        showUnfilled: true,
      };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
    case 'state-timeline':
      return {
        showValue: 'auto',
        mergeValues: true,
        rowHeight: 0.9,
        alignValue: 'left',
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'single', sort: 'none' },
      };
    case 'heatmap':
      return {
        calculate: false,
        yAxis: { axisPlacement: 'left', unit: panel.unit ?? 's' },
        color: {
          mode: 'scheme',
          scheme: 'Oranges',
          fill: 'dark-orange',
          scale: 'exponential',
          exponent: 0.5,
        },
        cellGap: 1,
        rowsFrame: { layout: 'auto' },
        tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
        legend: { show: true },
      };
  }
}

/** Renders a dashboard: rows become Grafana row panels, panels flow left to right and wrap at 24. */
export function renderDashboard(spec: DashboardSpec): GrafanaJson {
  const panels: GrafanaJson[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 12;
      const h = panel.height ?? 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push({
        id: id++,
        type: panel.type,
        title: panel.title,
        description: panel.description,
        datasource: prometheusDatasource,
        gridPos: { h, w, x, y },
        fieldConfig: fieldConfig(panel),
        options: options(panel),
        targets: panel.queries.map(target),
      });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: grafanaSchemaVersion,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    templating: { list: [] },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    // Every fleetstream dashboard links to the others through the shared tag.
    links: [
      {
        type: 'dashboards',
        tags: ['fleetstream'],
        asDropdown: true,
        title: 'fleetstream',
        includeVars: false,
        keepTime: true,
        icon: 'external link',
        targetBlank: false,
        tooltip: '',
        url: '',
      },
    ],
    panels,
  };
}

/** Stable JSON text for a committed dashboard file (2-space indent, trailing newline). */
export function dashboardFileText(spec: DashboardSpec): string {
  return `${JSON.stringify(renderDashboard(spec), null, 2)}\n`;
}
