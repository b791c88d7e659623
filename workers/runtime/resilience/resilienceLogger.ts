import type { Logger } from '../observability/logger.ts';
/** Severity of a resilience log line; maps onto pino levels of the same name. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The logger the resilience modules write through: a fixed message plus fields, so the
 * engine can hand in a pino child logger (`(level, msg, fields) => log[level](fields, msg)`).
 */
export type ResilienceLogger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A logger that drops everything (the default when none is injected). */
export const silentLogger: ResilienceLogger = () => {};

/** A process logger seen as a ResilienceLogger, for breakers and caps: fields first, as pino wants them. */
export function resilienceLoggerFor(logger: Pick<Logger, LogLevel>): ResilienceLogger {
  return (level, msg, fields) => logger[level](fields ?? {}, msg);
}
