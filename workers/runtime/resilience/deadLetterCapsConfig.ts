import type { EnvReader } from '../config/envReader.ts';

/** The limits of DeadLetterCaps; each is read from `<prefix><NAME>` (default prefix `DLQ_`). */
export interface DeadLetterCapsConfig {
  /** DLQ_MAX_RATIO: highest dead letters / processed per partition over the window. Default 0.1. */
  maxRatio: number;
  /** DLQ_RATIO_WINDOW: the ratio window, in last processed messages per partition. Default 1000. */
  ratioWindowMessages: number;
  /** DLQ_RATIO_WINDOW_MS: also forget outcomes older than this, in ms; 0 = count only. Default 0. */
  ratioWindowMs: number;
  /** DLQ_MIN_MESSAGES: messages in the window before the ratio is judged (≤ the window). Default 100. */
  minMessages: number;
  /** DLQ_MAX_CONSECUTIVE: highest number of dead letters in a row per partition. Default 10. */
  maxConsecutive: number;
  /** DLQ_MAX_PER_MINUTE: dead-letter writes per minute for the whole worker, all replicas together. Default 60. */
  maxPerMinute: number;
  /** DLQ_FALLBACK_MAX_PER_MINUTE: per-process budget while Redis is unreachable. Default ceil(maxPerMinute / 2). */
  fallbackMaxPerMinute: number;
  /** DLQ_COOLDOWN_MS: a tripped cap lifts itself after this long; 0 = only an operator resumes. Default 300000. */
  coolDownMs: number;
}

/** Defaults of DeadLetterCapsConfig (the fallback budget derives from maxPerMinute). */
export const deadLetterCapsDefaults = Object.freeze({
  maxRatio: 0.1,
  ratioWindowMessages: 1_000,
  ratioWindowMs: 0,
  minMessages: 100,
  maxConsecutive: 10,
  maxPerMinute: 60,
  coolDownMs: 300_000,
});

/** The fallback budget when none is configured: half the shared one, so two replicas on fallback stay within it. */
export function defaultFallbackMaxPerMinute(maxPerMinute: number): number {
  return Math.max(1, Math.ceil(maxPerMinute / 2));
}

/** Reads the DLQ caps from the environment with an existing reader (problems surface at `reader.done()`). */
export function readDeadLetterCapsConfig(reader: EnvReader, prefix = 'DLQ_'): DeadLetterCapsConfig {
  const d = deadLetterCapsDefaults;
  const maxRatio = reader.number(`${prefix}MAX_RATIO`, d.maxRatio, { min: 0.0001, max: 1 });
  const ratioWindowMessages = reader.int(`${prefix}RATIO_WINDOW`, d.ratioWindowMessages, {
    min: 1,
    max: 1_000_000,
  });
  const ratioWindowMs = reader.int(`${prefix}RATIO_WINDOW_MS`, d.ratioWindowMs, { min: 0 });
  const minMessages = reader.int(`${prefix}MIN_MESSAGES`, Math.min(d.minMessages, ratioWindowMessages), {
    min: 1,
    max: ratioWindowMessages,
  });
  const maxConsecutive = reader.int(`${prefix}MAX_CONSECUTIVE`, d.maxConsecutive, { min: 1 });
  const maxPerMinute = reader.int(`${prefix}MAX_PER_MINUTE`, d.maxPerMinute, { min: 1 });
  const fallbackMaxPerMinute = reader.int(
    `${prefix}FALLBACK_MAX_PER_MINUTE`,
    defaultFallbackMaxPerMinute(maxPerMinute),
    { min: 0, max: maxPerMinute },
  );
  const coolDownMs = reader.int(`${prefix}COOLDOWN_MS`, d.coolDownMs, { min: 0 });
  return {
    maxRatio,
    ratioWindowMessages,
    ratioWindowMs,
    minMessages,
    maxConsecutive,
    maxPerMinute,
    fallbackMaxPerMinute,
    coolDownMs,
  };
}

/** Completes a partial config with the defaults and checks the cross-field rules; throws RangeError. */
export function resolveDeadLetterCapsConfig(partial: Partial<DeadLetterCapsConfig>): DeadLetterCapsConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const base = { ...deadLetterCapsDefaults, ...defined };
  const config: DeadLetterCapsConfig = {
    ...base,
    minMessages: partial.minMessages ?? Math.min(base.minMessages, base.ratioWindowMessages),
    fallbackMaxPerMinute: partial.fallbackMaxPerMinute ?? defaultFallbackMaxPerMinute(base.maxPerMinute),
  };
  const problems: string[] = [];
  if (!(config.maxRatio > 0 && config.maxRatio <= 1)) problems.push('maxRatio must be in (0, 1]');
  if (!isIntAtLeast(config.ratioWindowMessages, 1))
    problems.push('ratioWindowMessages must be an integer ≥ 1');
  if (!isIntAtLeast(config.ratioWindowMs, 0)) problems.push('ratioWindowMs must be an integer ≥ 0');
  if (!isIntAtLeast(config.minMessages, 1) || config.minMessages > config.ratioWindowMessages) {
    problems.push('minMessages must be an integer in [1, ratioWindowMessages]');
  }
  if (!isIntAtLeast(config.maxConsecutive, 1)) problems.push('maxConsecutive must be an integer ≥ 1');
  if (!isIntAtLeast(config.maxPerMinute, 1)) problems.push('maxPerMinute must be an integer ≥ 1');
  if (!isIntAtLeast(config.fallbackMaxPerMinute, 0))
    problems.push('fallbackMaxPerMinute must be an integer ≥ 0');
  if (!isIntAtLeast(config.coolDownMs, 0)) problems.push('coolDownMs must be an integer ≥ 0');
  if (problems.length > 0) throw new RangeError(`dead-letter caps: ${problems.join('; ')}`);
  return Object.freeze(config);
}

function isIntAtLeast(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min;
}
