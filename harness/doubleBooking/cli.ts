/**
 * The double-booking storm: `npm run storm -- [--requests N] [--concurrency C] [--vehicles V]
 * [--customers K] [--settlers R] [--kills K] [--cancel-ratio P] [--window-days D] [--report file]`.
 * Exit 0 when every check passed, 1 otherwise; the JSON report says which.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../stack/stackConfig.ts';
import { runStorm } from './runStorm.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    vehicles: { type: 'string', default: '10' },
    customers: { type: 'string', default: '500' },
    settlers: { type: 'string', default: '2' },
    kills: { type: 'string', default: '3' },
    'cancel-ratio': { type: 'string', default: '0.1' },
    'window-days': { type: 'string', default: '14' },
    partitions: { type: 'string', default: '12' },
    report: { type: 'string', default: path.join(repoRoot, 'reports', `double-booking-${Date.now()}.json`) },
  },
});

const positive = (name: string, value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number, got ${value}`);
    process.exit(2);
  }
  return n;
};

const report = await runStorm({
  requests: positive('requests', values.requests),
  concurrency: positive('concurrency', values.concurrency),
  hotVehicles: positive('vehicles', values.vehicles),
  customers: positive('customers', values.customers),
  settlers: positive('settlers', values.settlers),
  kills: positive('kills', values.kills),
  cancelRatio: positive('cancel-ratio', values['cancel-ratio']),
  windowDays: positive('window-days', values['window-days']),
  partitions: positive('partitions', values.partitions),
  reportFile: values.report,
});
const c = report.checks;
console.log(
  `double-booking storm: ${report.ok ? 'PASSED' : 'FAILED'} in ${report.durationSeconds.toFixed(1)} s`,
);
console.log(
  `  accepted ${report.accepted} (refused: ${JSON.stringify(report.refused)}), cancellations accepted ${report.cancellationsAccepted}`,
);
console.log(
  `  decisions ${JSON.stringify(report.decisions)}, settled in ${report.settleSeconds.toFixed(1)} s after the load, ${report.kills} settler SIGKILLs`,
);
console.log(
  `  overlapping confirmed: database ${c.overlapsInDatabase.length}, API ${c.overlapsThroughApi.length}`,
);
console.log(
  `  not terminal: ${c.notTerminal.length}; API vs database: ${c.apiDisagreesWithDatabase.length}; events vs database: ${c.eventsDisagreeWithDatabase.length}`,
);
console.log(
  `  replay into a fresh group: database changed ${c.replayChangedDatabase}, disagreements ${c.replayDisagreements.length}, new event ids ${c.replayNewEventIds}`,
);
console.log(`  report: ${values.report}${report.chartFile ? `, chart: ${report.chartFile}` : ''}`);
process.exit(report.ok ? 0 : 1);
