import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { EnvReader } from '../config/envReader.ts';
import { currentTraceIds } from './tracing.ts';

export type { Logger } from 'pino';

/** Levels LOG_LEVEL accepts. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** LOG_LEVEL: minimum level written; default `info`. */
export function readLogLevel(reader: EnvReader): LogLevel {
  return reader.oneOf('LOG_LEVEL', logLevels, 'info');
}

/**
 * Field paths whose values never reach the log (pino redact; `*` is one level). Credentials
 * inside connection strings anywhere in a log line are masked separately by `maskSecretsInText`.
 */
export const redactedPaths: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'cookie',
  '*.cookie',
  '*.headers.cookie',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'DATABASE_URL',
  '*.DATABASE_URL',
  'REDIS_URL',
  '*.REDIS_URL',
];

/** `scheme://user:password@` → `scheme://user:[REDACTED]@`; `password=…` in key/value DSNs likewise. */
const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
const keyValuePassword = /(\b(?:password|passwd|pwd)\s*=\s*)[^\s;&]+/gi;

/** Masks credentials embedded in free text (connection strings, DSNs, ConfigError messages). */
export function maskSecretsInText(text: string): string {
  if (!text.includes('://') && !/passw|pwd/i.test(text)) return text;
  return text.replace(urlCredentials, '$1[REDACTED]@').replace(keyValuePassword, '$1[REDACTED]');
}

// Bounded walk: logs carry small objects; a huge one is not worth scanning in full.
const maxMaskDepth = 4;
const maxMaskEntries = 100;

/** Returns `value` with every string credential masked; copies only what changes. */
function maskSecretsDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskSecretsInText(value);
  if (depth >= maxMaskDepth || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Error) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    const limit = Math.min(value.length, maxMaskEntries);
    for (let i = 0; i < limit; i++) {
      const masked = maskSecretsDeep(value[i], depth + 1);
      if (masked !== value[i]) {
        copy ??= value.slice();
        copy[i] = masked;
      }
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  let seen = 0;
  for (const [key, entry] of Object.entries(value)) {
    if (++seen > maxMaskEntries) break;
    const masked = maskSecretsDeep(entry, depth + 1);
    if (masked !== entry) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = masked;
    }
  }
  return copy ?? value;
}

/** pino's error serializer, with credentials masked in message and stack (a ConfigError quotes raw values). */
function serializeErrorMasked(error: unknown): unknown {
  if (!(error instanceof Error)) return maskSecretsDeep(error, 0);
  // pino's serialized error has its own prototype: copy it into a plain object to walk it.
  return maskSecretsDeep({ ...pino.stdSerializers.err(error) }, 0);
}

/** Options of a process logger. */
export interface CreateLoggerOptions {
  /** The worker name, a base field of every line. */
  worker: string;
  /** Minimum level; default LOG_LEVEL from the environment, else `info`. */
  level?: LogLevel;
  /** Where lines go; default stdout (tests pass a capturing stream). */
  destination?: DestinationStream;
}

/**
 * JSON lines to stdout with `worker` and `pid` on every line, `trace_id` and `span_id` on lines
 * written inside a trace context, secrets redacted.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? levelFromEnvironment();
  const loggerOptions: LoggerOptions = {
    level,
    base: { worker: options.worker, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    redact: { paths: [...redactedPaths], censor: '[REDACTED]' },
    serializers: { err: serializeErrorMasked, error: serializeErrorMasked },
    // A line written while a record is handled (the runtime makes its traceparent the active
    // context) names that trace, so on-call can go from a log line to the trace and back.
    mixin: () => {
      const ids = currentTraceIds();
      return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => maskSecretsDeep(object, 0) as Record<string, unknown>,
    },
  };
  // Default destination: synchronous stdout, so the last lines before a crash or a forced exit
  // (SIGKILL on itself, shutdownSignals.ts) are not lost. pino's own default is asynchronous.
  return pino(loggerOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

function levelFromEnvironment(): LogLevel {
  const reader = new EnvReader();
  const level = readLogLevel(reader);
  reader.done();
  return level;
}
