/**
 * `npm run -s rentals -- [--rentals N] [--topic T]`: plays the upstream rental and payment
 * services for the local fleet, so the rental ledger has money to post. Prints what it wrote and
 * the query that shows the ledger's trial balance.
 */
import { parseArgs } from 'node:util';
import { loadOpsConfig } from '../../ops/opsConfig.ts';
import { defaultLedgerRouting } from '../../workers/rental-ledger/ledgerConfig.ts';
import { ConfigError } from '../../workers/runtime/config/configError.ts';
import { emitRentalEvents } from './emitRentalEvents.ts';

const { values } = parseArgs({
  options: {
    rentals: { type: 'string', default: '10' },
    topic: { type: 'string', default: defaultLedgerRouting.events },
  },
});
const rentals = Number(values.rentals);
if (!Number.isSafeInteger(rentals) || rentals < 1) {
  console.error(`--rentals must be a whole number ≥ 1, got ${values.rentals}`);
  process.exit(2);
}

try {
  const emitted = await emitRentalEvents(loadOpsConfig(process.env), values.topic, rentals);
  console.log(`${emitted.events} rental events for ${rentals} rentals written to ${values.topic}`);
  console.log(`they move ${emitted.netMinor} EUR minor units net into assets:payment_clearing`);
  console.log('the ledger books them within seconds: npm run -s ops -- ledger   (the trial balance)');
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `rentals: ${(error as Error).message}`);
  process.exit(1);
}
