/** The registry's compatibility levels (Confluent names, also accepted by Apicurio's ccompat API). */
export const compatibilityLevels = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityLevel = (typeof compatibilityLevels)[number];

/** Which way data must stay readable: `backward` = new readers read old data, `forward` = old readers read new data. */
export type CompatibilityDirection = 'backward' | 'forward';

/** True when `value` is one of the compatibility level names. */
export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (compatibilityLevels as readonly string[]).includes(value);
}

/** Whether a level is checked against every registered version (true) or only the latest one. */
export function isTransitive(level: CompatibilityLevel): boolean {
  return level.endsWith('_TRANSITIVE');
}

/** The directions a level requires. */
export function directionsOf(level: CompatibilityLevel): readonly CompatibilityDirection[] {
  if (level.startsWith('BACKWARD')) return ['backward'];
  if (level.startsWith('FORWARD')) return ['forward'];
  if (level.startsWith('FULL')) return ['backward', 'forward'];
  return [];
}
