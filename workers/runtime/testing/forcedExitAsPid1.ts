/**
 * Test fixture: calls forceExit() with a timer still pending, as a stuck drain would. Run as PID 1
 * of a new PID namespace by shutdownSignals.int.test.ts. Not used in production.
 */
import { createLogger } from '../observability/logger.ts';
import { forceExit } from '../worker/shutdownSignals.ts';

console.log(`pid ${process.pid}`);
setInterval(() => undefined, 1000);
forceExit(createLogger({ worker: 'forced-exit-fixture', level: 'error' }), {}, 'forcing the exit');
