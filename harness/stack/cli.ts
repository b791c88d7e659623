#!/usr/bin/env node
/**
 * Local stack: `stack up | down | status | logs [service] [--lines N]`.
 * npm scripts: stack:up, stack:down, stack:status, stack:logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../workers/runtime/config/configError.ts';
import { upUnlessInterrupted } from './interruptibleUp.ts';
import { LocalStack } from './localStack.ts';
import { loadStackConfig, stackPaths } from './stackConfig.ts';

const usage = `usage: npm run stack -- <command>
  up                 start (or find) Kafka, the schema registry, PostgreSQL and Redis; wait for health
                     (Ctrl-C meanwhile stops what it started and exits 1)
  down               stop what \`up\` started (by pid); services it found running are left alone
  status             one line per service: health, who runs it, endpoint, pid, log
  logs [service] [--lines N]   print the last N lines (default 50) of a service's log`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadStackConfig();
  const stack = await LocalStack.create(config, (line) => console.log(line));
  switch (command) {
    case 'up': {
      const started = Date.now();
      const outcomes = await upUnlessInterrupted(stack);
      if (!outcomes) return 1;
      for (const [service, outcome] of outcomes) console.log(`${service.padEnd(16)} ${outcome}`);
      printStatus(await stack.status());
      console.log(`stack (${stack.provider}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down': {
      const stopped = await stack.down();
      console.log(
        stopped.length
          ? `stopped: ${stopped.join(', ')}`
          : 'nothing to stop (no service was started by this stack)',
      );
      return 0;
    }
    case 'status': {
      const statuses = await stack.status();
      printStatus(statuses);
      return statuses.every((s) => s.healthy) ? 0 : 3;
    }
    case 'logs': {
      const service = rest.find((a) => !a.startsWith('--'));
      const linesFlag = rest.indexOf('--lines');
      const lines = linesFlag >= 0 ? Number(rest[linesFlag + 1]) : 50;
      const logDir = stackPaths(config.stackDir).logs;
      const files = fs.existsSync(logDir) ? fs.readdirSync(logDir).filter((f) => f.endsWith('.log')) : [];
      const chosen = service ? files.filter((f) => f === `${service}.log`) : files;
      if (chosen.length === 0) {
        console.error(service ? `no log for ${service} in ${logDir}` : `no logs in ${logDir}`);
        return 1;
      }
      for (const file of chosen) {
        const text = fs.readFileSync(path.join(logDir, file), 'utf8').trimEnd().split('\n');
        console.log(`==> ${path.join(logDir, file)} <==`);
        console.log(text.slice(-lines).join('\n'));
      }
      return 0;
    }
    default:
      console.error(usage);
      return 2;
  }
}

function printStatus(statuses: Awaited<ReturnType<LocalStack['status']>>): void {
  for (const s of statuses) {
    const pid = s.pid ? `pid ${s.pid}` : '';
    console.log(
      [
        s.service.padEnd(16),
        (s.healthy ? 'healthy' : 'DOWN').padEnd(8),
        s.ownership.padEnd(9),
        s.endpoint.padEnd(42),
        pid.padEnd(10),
        s.logFile ?? s.detail ?? '',
      ]
        .join(' ')
        .trimEnd(),
    );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else if (error instanceof AggregateError)
      for (const e of error.errors) console.error(`stack up failed: ${(e as Error).message}`);
    else console.error(`stack: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
