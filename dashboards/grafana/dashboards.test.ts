import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type DashboardSpec, grafanaSchemaVersion, renderDashboard } from './dashboardModel.ts';
import { fleetDashboards } from './fleetDashboards.ts';

const dashboardsDir = new URL('./dashboards/', import.meta.url);
const provisioningDir = new URL('./provisioning/', import.meta.url);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ datasource: { uid: string }; expr: string; refId: string }>;
}

function committed(uid: string): { panels: Panel[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${uid}.json`, dashboardsDir), 'utf8'));
}

describe('renderDashboard', () => {
  const spec: DashboardSpec = {
    uid: 'sample',
    title: 'Sample',
    description: 'A sample.',
    tags: ['fleetstream'],
    rows: [
      {
        title: 'Row',
        panels: [
          { type: 'timeseries', title: 'A', description: 'a', queries: [{ expr: 'up' }], width: 16 },
          {
            type: 'stat',
            title: 'B',
            description: 'b',
            queries: [{ expr: 'up', instant: true }],
            width: 8,
            height: 4,
          },
          { type: 'timeseries', title: 'C', description: 'c', queries: [{ expr: ' up ' }, { expr: 'up' }] },
        ],
      },
    ],
  };

  it('lays panels out left to right under their row and wraps at 24 columns', () => {
    const json = renderDashboard(spec) as unknown as { panels: Panel[] };
    expect(json.panels.map((p) => [p.type, p.gridPos])).toEqual([
      ['row', { h: 1, w: 24, x: 0, y: 0 }],
      ['timeseries', { h: 8, w: 16, x: 0, y: 1 }],
      ['stat', { h: 4, w: 8, x: 16, y: 1 }],
      ['timeseries', { h: 8, w: 12, x: 0, y: 9 }],
    ]);
    expect(json.panels[3]?.targets?.map((t) => [t.refId, t.expr])).toEqual([
      ['A', 'up'],
      ['B', 'up'],
    ]);
  });

  it('refuses a panel with more queries than Grafana has refIds', () => {
    const queries = Array.from({ length: 27 }, () => ({ expr: 'up' }));
    const crowded: DashboardSpec = {
      ...spec,
      rows: [{ title: 'R', panels: [{ type: 'timeseries', title: 'T', description: 'd', queries }] }],
    };
    expect(() => renderDashboard(crowded)).toThrow(/at most 26/);
  });
});

describe('committed dashboards', () => {
  it('are exactly what fleetDashboards.ts renders (run npx node dashboards/grafana/build.ts)', () => {
    const files = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(fleetDashboards.map((d) => `${d.uid}.json`).sort());
    for (const spec of fleetDashboards) expect(committed(spec.uid), spec.uid).toEqual(renderDashboard(spec));
  });

  it('use schemaVersion 39 and the provisioned datasource by its fixed uid', () => {
    for (const spec of fleetDashboards) {
      const text = readFileSync(new URL(`${spec.uid}.json`, dashboardsDir), 'utf8');
      expect(text).not.toContain('DS_PROMETHEUS');
      const json = committed(spec.uid);
      expect(json.schemaVersion).toBe(grafanaSchemaVersion);
      expect(json.uid).toBe(spec.uid);
      for (const panel of json.panels.filter((p) => p.type !== 'row')) {
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: 'prometheus' });
        for (const target of panel.targets ?? [])
          expect(target.datasource.uid, panel.title).toBe('prometheus');
      }
    }
  });

  it('have unique panel ids and panels that neither overflow the grid nor overlap', () => {
    for (const spec of fleetDashboards) {
      const panels = committed(spec.uid).panels;
      expect(new Set(panels.map((p) => p.id)).size, spec.uid).toBe(panels.length);
      for (const a of panels) {
        expect(a.gridPos.x + a.gridPos.w, `${spec.uid} ${a.title}`).toBeLessThanOrEqual(24);
        for (const b of panels) {
          if (a === b) continue;
          const overlap =
            a.gridPos.x < b.gridPos.x + b.gridPos.w &&
            b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h &&
            b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `${spec.uid}: ${a.title} overlaps ${b.title}`).toBe(false);
        }
      }
    }
  });

  it('have unique panel titles per dashboard', () => {
    for (const spec of fleetDashboards) {
      const titles = committed(spec.uid)
        .panels.filter((p) => p.type !== 'row')
        .map((p) => p.title);
      expect(new Set(titles).size, spec.uid).toBe(titles.length);
    }
  });
});

describe('Grafana provisioning', () => {
  it('provisions the Prometheus datasource with the uid the dashboards use', () => {
    const doc = parse(readFileSync(new URL('datasources/prometheus.yml', provisioningDir), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(doc.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://127.0.0.1:9090' }),
    ]);
  });

  it('loads dashboards from the folder compose.yml mounts the JSON files into', () => {
    const provider = parse(readFileSync(new URL('dashboards/fleetstream.yml', provisioningDir), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const compose = parse(readFileSync(new URL('../compose.yml', import.meta.url), 'utf8')) as {
      services: { grafana: { volumes: string[] }; prometheus: { volumes: string[] } };
    };
    const path = provider.providers[0]?.options.path;
    expect(compose.services.grafana.volumes).toContain(`./grafana/dashboards:${path}:ro`);
    expect(compose.services.grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.prometheus.volumes).toContain('./prometheus:/etc/prometheus:ro');
  });
});
