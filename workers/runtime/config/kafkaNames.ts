import { ConfigError, type ConfigProblem } from './configError.ts';

const kafkaNamePattern = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Reads topic and group names a worker needs before the runtime starts (they name what it
 * subscribes to): each variable falls back to its default when unset or blank; every invalid
 * name is reported at once in one ConfigError.
 */
export function readKafkaNames<K extends string>(
  env: Readonly<Record<string, string | undefined>>,
  spec: Readonly<Record<K, { variable: string; fallback: string }>>,
): Record<K, string> {
  const problems: ConfigProblem[] = [];
  const names = {} as Record<K, string>;
  for (const key of Object.keys(spec) as K[]) {
    const { variable, fallback } = spec[key];
    const raw = env[variable]?.trim();
    if (raw !== undefined && raw !== '' && !kafkaNamePattern.test(raw)) {
      problems.push({ variable, value: raw, expected: 'a Kafka name ([A-Za-z0-9._-], 1 to 249 characters)' });
    }
    names[key] = raw === undefined || raw === '' ? fallback : raw;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return names;
}
