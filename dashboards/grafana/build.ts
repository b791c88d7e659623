import { readFile, writeFile } from 'node:fs/promises';
import { dashboardFileText, renderDashboard } from './dashboardModel.ts';
import { fleetDashboards } from './fleetDashboards.ts';

/**
 * Writes dashboards/grafana/dashboards/<uid>.json from fleetDashboards.ts, or with `--check`
 * only reports files that differ (exit 1), so CI and reviewers see drift instead of a silent rewrite.
 * Files are compared as parsed JSON: biome reformats the committed files, which changes no value.
 *
 *   npx node dashboards/grafana/build.ts [--check]
 */
const outputDir = new URL('./dashboards/', import.meta.url);

function sameJson(text: string, spec: (typeof fleetDashboards)[number]): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(renderDashboard(spec));
  } catch {
    return false;
  }
}

async function main(check: boolean): Promise<number> {
  const stale: string[] = [];
  for (const spec of fleetDashboards) {
    const file = new URL(`${spec.uid}.json`, outputDir);
    const text = dashboardFileText(spec);
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current !== undefined && sameJson(current, spec)) continue;
    if (check) stale.push(spec.uid);
    else {
      await writeFile(file, text);
      process.stdout.write(
        `wrote dashboards/grafana/dashboards/${spec.uid}.json (format it: npx biome format --write)\n`,
      );
    }
  }
  if (stale.length > 0) {
    process.stderr.write(
      `dashboards out of date: ${stale.join(', ')}; run npx node dashboards/grafana/build.ts\n`,
    );
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.includes('--check'));
