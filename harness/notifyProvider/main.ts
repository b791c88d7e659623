/**
 * The local notification provider (`node harness/notifyProvider/main.ts`): listens on
 * 127.0.0.1:NOTIFY_PROVIDER_PORT (default 9180) with NOTIFIER_PROVIDER_TOKEN (default the local
 * token); `npm start` runs it for the notifier. Exits 0 on SIGTERM/SIGINT; bad configuration exits 78.
 */

import { localProviderToken } from '../../workers/notifier/notifierConfig.ts';
import { ConfigError } from '../../workers/runtime/config/configError.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { createLogger } from '../../workers/runtime/observability/logger.ts';
import { createNotifyProviderApp } from './notifyProviderApp.ts';

let port: number;
let token: string;
try {
  const reader = new EnvReader(process.env);
  port = reader.int('NOTIFY_PROVIDER_PORT', 9180, { min: 0, max: 65_535 });
  token = reader.string('NOTIFIER_PROVIDER_TOKEN', localProviderToken);
  reader.done();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`notify-provider: ${error.message}\n`);
  process.exit(78);
}

const logger = createLogger({ worker: 'notify-provider' });
const app = createNotifyProviderApp({ token });
await app.listen({ host: '127.0.0.1', port });
logger.info({ port }, 'local notification provider listening');
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // One Ctrl-C reaches a supervised process twice (the terminal's SIGINT, the supervisor's SIGTERM).
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void app.close().then(() => process.exit(0));
  });
}
