import { stringify } from 'yaml';
import { allPanelQueries } from './panelQueries.ts';

/**
 * Prints every dashboard query as a recording rule, so `promtool check rules` parses each one with
 * Prometheus' own PromQL parser (check.sh does this): a typo in a panel fails the build instead of
 * showing "No data" in Grafana.
 *
 *   npx node dashboards/panelQueriesAsRules.ts > /tmp/panel-queries.yml && promtool check rules /tmp/panel-queries.yml
 */
const rules = allPanelQueries().map((query, index) => ({
  record: `dashboard_query:${query.dashboard.replace(/\.json$/, '').replace(/\W/g, '_')}:${index}`,
  expr: query.resolvedExpr,
}));
process.stdout.write(stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
