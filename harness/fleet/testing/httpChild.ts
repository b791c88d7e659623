/**
 * A minimal supervised process for the supervisor's tests: answers 200 on PORT after
 * READY_DELAY_MS, exits with EXIT_CODE_ON_TERM (default 0) on SIGTERM, crashes CRASH_AFTER_MS
 * after it started listening when set, and writes its pid into PID_DIR. Not used in production.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const port = Number(process.env.PORT);
if (process.env.PID_DIR) writeFileSync(path.join(process.env.PID_DIR, String(process.pid)), '');
process.on('SIGTERM', () => process.exit(Number(process.env.EXIT_CODE_ON_TERM ?? 0)));
setTimeout(
  () => {
    http
      .createServer((_, response) => response.end('ok'))
      .listen(port, '127.0.0.1', () => {
        console.log(`listening on ${port}`);
        if (process.env.CRASH_AFTER_MS) {
          setTimeout(() => {
            console.error('crashing on purpose');
            process.exit(3);
          }, Number(process.env.CRASH_AFTER_MS));
        }
      });
  },
  Number(process.env.READY_DELAY_MS ?? 0),
);
