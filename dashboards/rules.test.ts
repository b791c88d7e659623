import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { baseMetricName, metricNamesIn } from './panelQueries.ts';

// Static checks of the rule files that promtool does not make: every alert is actionable
// (severity, summary, description, runbook), tested both ways, documented, and reads only known metrics.

const prometheusDir = new URL('./prometheus/', import.meta.url);
const rulesDir = new URL('./prometheus/rules/', import.meta.url);
const testsDir = new URL('./prometheus/tests/', import.meta.url);
const repoRoot = new URL('../', import.meta.url);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function yamlFiles(dir: URL): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort();
}

const rules: Rule[] = yamlFiles(rulesDir).flatMap((file) => {
  const doc = parse(readFileSync(new URL(file, rulesDir), 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return doc.groups.flatMap((group) => group.rules);
});
const alerts = rules.filter((rule): rule is Rule & { alert: string } => typeof rule.alert === 'string');

const runbookFiles = [
  'kafka-lag-mitigation',
  'dlq-triage-and-replay',
  'circuit-breaker-recovery',
  'incident-response',
  'performance-tuning',
];

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}

interface TestFile {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: AlertTest[] }>;
}

const testFiles = yamlFiles(testsDir).map((file) => ({
  file,
  doc: parse(readFileSync(new URL(file, testsDir), 'utf8')) as TestFile,
}));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

let knownMetrics: Set<string> | undefined;
function known(): Set<string> {
  if (knownMetrics) return knownMetrics;
  const docs = readFileSync(new URL('docs/metrics.md', repoRoot), 'utf8');
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const section =
    readme.split(/^## /m).find((part) => part.startsWith('Metric names beyond docs/metrics.md')) ?? '';
  knownMetrics = new Set([
    ...[...docs.matchAll(/`([a-z_][a-z0-9_]*)`/g)].map((m) => m[1] ?? ''),
    ...section
      .split('\n')
      .map((line) => /^`([a-zA-Z_:][\w:]*)`$/.exec(line.split('|')[1]?.trim() ?? '')?.[1] ?? ''),
    ...rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
  ]);
  return knownMetrics;
}

describe('alert rules', () => {
  it('exist for every case the issue asks for', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'FleetAutoscaleSignalMissing',
        'FleetBreakerOpen',
        'FleetConsumerErrorRateHigh',
        'FleetConsumerLagHigh',
        'FleetConsumerLagNotRecovering',
        'FleetConsumerPausedTooLong',
        'FleetDeadLettersFlood',
        'FleetDlqCapReached',
        'FleetDlqRateCapFallback',
        'FleetDlqWriteFailing',
        'FleetEndToEndLatencySLO',
        'FleetEventLoopLagHigh',
        'FleetIngressAvailabilityFastBurn',
        'FleetIngressAvailabilitySlowBurn',
        'FleetIngressLatencyFastBurn',
        'FleetIngressLatencySlowBurn',
        'FleetIngressRateLimitFallback',
        'FleetIngressRelayedStaleRequests',
        'FleetIngressSliMissing',
        'FleetLagMonitorDown',
        'FleetLagUnknown',
        'FleetPartitionRewound',
        'FleetPartitionStalled',
        'FleetProducerErrors',
        'FleetRebalanceStorm',
        'FleetStuckPartition',
        'FleetTargetDown',
        'FleetWorkerNotConsuming',
        'FleetWorkerUnavailable',
      ].sort(),
    );
  });

  it('each carry a severity, a summary, a description and a runbook anchor named after the alert', () => {
    for (const rule of alerts) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.length ?? 0, rule.alert).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length ?? 0, rule.alert).toBeGreaterThan(60);
      const url = rule.annotations?.runbook_url ?? '';
      const match = /^runbooks\/([a-z-]+)\.md#([a-z0-9-]+)$/.exec(url);
      expect(match, `${rule.alert}: ${url}`).not.toBeNull();
      expect(runbookFiles, rule.alert).toContain(match?.[1]);
      expect(match?.[2], rule.alert).toBe(rule.alert.toLowerCase());
    }
  });

  it('link to runbook anchors that exist', () => {
    const missing: string[] = [];
    for (const rule of alerts) {
      const [path, anchor] = (rule.annotations?.runbook_url ?? '').split('#');
      const file = new URL(path ?? '', repoRoot);
      if (!existsSync(file)) {
        missing.push(`${path} (no such runbook)`);
        continue;
      }
      const text = readFileSync(file, 'utf8');
      const headings = [...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] ?? ''));
      const ids = [...text.matchAll(/id="([^"]+)"/g)].map((m) => m[1]);
      if (!headings.includes(anchor ?? '') && !ids.includes(anchor)) missing.push(`${path}#${anchor}`);
    }
    expect(missing).toEqual([]);
  });

  it('have unique names', () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('read only metrics documented in docs/metrics.md, the README list or the recording rules', () => {
    const problems = rules.flatMap((rule) =>
      metricNamesIn(rule.expr)
        .filter((name) => !known().has(baseMetricName(name, known())))
        .map((name) => `${rule.alert ?? rule.record}: ${name}`),
    );
    expect(problems).toEqual([]);
  });

  it('are each tested firing and not firing', () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const { doc } of testFiles) {
      for (const group of doc.tests) {
        for (const test of group.alert_rule_test ?? []) {
          if ((test.exp_alerts ?? []).length > 0) firing.add(test.alertname);
          else silent.add(test.alertname);
        }
      }
    }
    const untested = alerts.flatMap((rule) => [
      ...(firing.has(rule.alert) ? [] : [`${rule.alert} never tested firing`]),
      ...(silent.has(rule.alert) ? [] : [`${rule.alert} never tested not firing`]),
    ]);
    expect(untested).toEqual([]);
  });

  it('are tested by files whose rule_files exist', () => {
    for (const { file, doc } of testFiles) {
      expect(doc.rule_files.length, file).toBeGreaterThan(0);
      for (const ruleFile of doc.rule_files)
        expect(existsSync(new URL(ruleFile, testsDir)), ruleFile).toBe(true);
    }
  });

  it('are all listed with their meaning in docs/operations.md', () => {
    const operations = readFileSync(new URL('docs/operations.md', repoRoot), 'utf8');
    const unlisted = alerts.map((a) => a.alert).filter((name) => !operations.includes(`\`${name}\``));
    expect(unlisted).toEqual([]);
  });
});

describe('prometheus.yml', () => {
  const config = parse(readFileSync(new URL('prometheus.yml', prometheusDir), 'utf8')) as {
    global: { scrape_interval: string };
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };

  it('scrapes every process on its contract port, job named after the worker, every 5 s', () => {
    const targets = Object.fromEntries(
      config.scrape_configs.map((job) => [job.job_name, job.static_configs.flatMap((s) => s.targets)]),
    );
    expect(targets).toMatchObject({
      ingress: ['127.0.0.1:8080'],
      'reservation-settler': ['127.0.0.1:9101'],
      'rental-ledger': ['127.0.0.1:9102'],
      notifier: ['127.0.0.1:9103'],
      'lag-monitor': ['127.0.0.1:9104'],
    });
    expect(config.global.scrape_interval).toBe('5s');
  });

  it('loads every rule file', () => {
    expect(config.rule_files).toEqual(['rules/*.yml']);
  });
});
