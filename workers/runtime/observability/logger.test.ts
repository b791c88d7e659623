import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
import { EnvReader } from '../config/envReader.ts';
import { ensureAsyncContextManager } from './asyncContextManager.ts';
import { createLogger, maskSecretsInText, readLogLevel } from './logger.ts';
import { extractTraceContext } from './tracing.ts';

/** A logger writing into an array of parsed JSON lines. */
function capturingLogger(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ worker: 'settler', level, destination });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with worker, pid, level label, time and a fixed message', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ topic: 'fleet.reservation.commands.v1' }, 'consumer started');
    logger.debug('not written at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      worker: 'settler',
      pid: process.pid,
      msg: 'consumer started',
      topic: 'fleet.reservation.commands.v1',
    });
    expect(typeof lines[0]?.time).toBe('string');
  });

  it('redacts authorization headers, tokens and passwords at the documented paths', () => {
    const { logger, lines } = capturingLogger();
    logger.info(
      {
        authorization: 'Bearer top',
        headers: { authorization: 'Bearer abc', accept: 'json' },
        req: { headers: { authorization: 'Bearer nested' }, authorization: 'Basic x' },
        token: 'jwt1',
        auth: { token: 'jwt2' },
        password: 'p1',
        db: { password: 'p2', user: 'app' },
        DATABASE_URL: 'postgres://app:hunter2@db:5432/fleet',
      },
      'request received',
    );
    const line = lines[0];
    const text = JSON.stringify(line);
    for (const secret of ['top', 'Bearer abc', 'nested', 'Basic x', 'jwt1', 'jwt2', 'p1', 'p2', 'hunter2']) {
      expect(text).not.toContain(secret);
    }
    expect(line).toMatchObject({ headers: { accept: 'json' }, db: { user: 'app' }, token: '[REDACTED]' });
  });

  it('masks passwords inside connection strings wherever they appear, errors included', () => {
    const { logger, lines } = capturingLogger();
    logger.info(
      { config: { databaseUrl: 'postgresql://fleet:s3cret@127.0.0.1:5432/fleet' } },
      'config loaded',
    );
    logger.error(
      { err: new Error('invalid configuration: DATABASE_URL="postgres://u:pw-in-error@h/db"') },
      'startup failed',
    );
    logger.info({ dsn: 'host=db user=app password=kv-secret dbname=fleet' }, 'dsn seen');
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('pw-in-error');
    expect(text).not.toContain('kv-secret');
    expect(lines[0]).toMatchObject({
      config: { databaseUrl: 'postgresql://fleet:[REDACTED]@127.0.0.1:5432/fleet' },
    });
    expect(lines[1]).toMatchObject({ err: { type: 'Error' } });
  });

  it('writes stdout synchronously: the last line before a SIGKILL reaches the pipe', () => {
    // A forced exit logs one line and SIGKILLs itself; an asynchronous destination loses it.
    const loggerModule = fileURLToPath(new URL('./logger.ts', import.meta.url));
    const script = `
      import { createLogger } from ${JSON.stringify(loggerModule)};
      const logger = createLogger({ worker: 'kill-test', level: 'info' });
      for (let i = 0; i < 50; i++) logger.info({ i }, 'filler');
      logger.error({}, 'last words');
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    expect(child.signal).toBe('SIGKILL');
    const messages = child.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toHaveLength(51);
    expect(messages.at(-1)).toBe('last words');
  });

  it('leaves text without credentials untouched', () => {
    expect(maskSecretsInText('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(maskSecretsInText('http://user@host/x')).toBe('http://user@host/x');
    expect(maskSecretsInText('amqp://u:p@h')).toBe('amqp://u:[REDACTED]@h');
  });
});

describe('trace ids in log lines', () => {
  it('adds trace_id and span_id to lines written inside a trace context, and nothing outside one', () => {
    ensureAsyncContextManager();
    const { logger, lines } = capturingLogger();
    const traced = extractTraceContext({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    context.with(traced, () => logger.warn({ attempt: 2 }, 'handler failed'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({
      worker: 'settler',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      attempt: 2,
      msg: 'handler failed',
    });
    expect(lines[1]).not.toHaveProperty('trace_id');
    expect(lines[1]).not.toHaveProperty('span_id');
  });
});

describe('readLogLevel', () => {
  it('reads LOG_LEVEL, defaults to info and names the variable when invalid', () => {
    expect(readLogLevel(new EnvReader({}))).toBe('info');
    expect(readLogLevel(new EnvReader({ LOG_LEVEL: 'debug' }))).toBe('debug');
    const reader = new EnvReader({ LOG_LEVEL: 'verbose' });
    readLogLevel(reader);
    expect(() => reader.done()).toThrow(ConfigError);
    expect(() => reader.done()).toThrow(/LOG_LEVEL/);
  });
});
