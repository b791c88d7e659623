/**
 * The double-booking storm: `npm run storm -- [--requests N] [--concurrency C] [--vehicles V]
 * [--customers K] [--settlers R] [--kills K] [--cancel-ratio P] [--cancel-confirmed-ratio Q]
 * [--window-days D] [--report file]`.
 * Exit 0 when every check passed, 1 otherwise; the JSON report says which.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../stack/stackConfig.ts';
import { runStorm } from './runStorm.ts';
import { stormSummary } from './stormReport.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    vehicles: { type: 'string', default: '10' },
    customers: { type: 'string', default: '500' },
    settlers: { type: 'string', default: '2' },
    kills: { type: 'string', default: '3' },
    'cancel-ratio': { type: 'string', default: '0.1' },
    'cancel-confirmed-ratio': { type: 'string', default: '0.3' },
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
  confirmedCancelRatio: positive('cancel-confirmed-ratio', values['cancel-confirmed-ratio']),
  windowDays: positive('window-days', values['window-days']),
  partitions: positive('partitions', values.partitions),
  reportFile: values.report,
});
for (const line of stormSummary(report)) console.log(line);
console.log(`  report: ${values.report}${report.chartFile ? `, chart: ${report.chartFile}` : ''}`);
process.exit(report.ok ? 0 : 1);
