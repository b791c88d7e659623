/**
 * A minimal supervised process for the supervisor's tests: answers 200 on PORT after
 * READY_DELAY_MS, exits with EXIT_CODE_ON_TERM (default 0) on SIGTERM, crashes (exit 3) as soon
 * as the file CRASH_WHEN_FILE exists — at start too, so every restart crashes — and writes its pid
 * into PID_DIR. Not used in production.
 */
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const port = Number(process.env.PORT);
if (process.env.PID_DIR) writeFileSync(path.join(process.env.PID_DIR, String(process.pid)), '');
process.on('SIGTERM', () => process.exit(Number(process.env.EXIT_CODE_ON_TERM ?? 0)));
const crashMarker = process.env.CRASH_WHEN_FILE;
if (crashMarker) {
  const crashIfMarked = () => {
    if (!existsSync(crashMarker)) return;
    console.error('crashing on purpose');
    process.exit(3);
  };
  crashIfMarked();
  setInterval(crashIfMarked, 50);
}
setTimeout(
  () => {
    http
      .createServer((_, response) => response.end('ok'))
      .listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
  },
  Number(process.env.READY_DELAY_MS ?? 0),
);
