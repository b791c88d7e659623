import { ConfigError, type ConfigProblem } from './configError.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from an environment and collects every problem, so a process
 * reports all its bad variables at once instead of one per restart.
 * Call `done()` after the last read: it throws a ConfigError naming each bad variable.
 */
export class EnvReader {
  private readonly problems: ConfigProblem[] = [];
  private readonly env: Env;

  constructor(env: Env = process.env) {
    this.env = env;
  }

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  private fail<T>(variable: string, value: string | undefined, expected: string, fallback: T): T {
    this.problems.push({ variable, value, expected });
    return fallback;
  }

  /** A string; `fallback` when unset. */
  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  /** A string that must be set (no default). */
  requiredString(name: string, expected = 'a non-empty value'): string {
    const value = this.raw(name);
    return value ?? this.fail(name, value, expected, '');
  }

  /** An integer within [min, max]. */
  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      return this.fail(name, value, `an integer between ${min} and ${max}`, fallback);
    }
    return parsed;
  }

  /** A finite number within [min, max]. */
  number(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const min = range.min ?? -Number.MAX_VALUE;
    const max = range.max ?? Number.MAX_VALUE;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      return this.fail(name, value, `a number between ${min} and ${max}`, fallback);
    }
    return parsed;
  }

  /** A boolean written as true/false/1/0/yes/no. */
  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lowered = value.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
    if (['false', '0', 'no', 'off'].includes(lowered)) return false;
    return this.fail(name, value, 'true or false', fallback);
  }

  /** One of a fixed set of words. */
  oneOf<const T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return (choices as readonly string[]).includes(value)
      ? (value as T)
      : this.fail(name, value, `one of ${choices.join(', ')}`, fallback);
  }

  /** A URL whose scheme is one of `protocols` (for example ['postgres:', 'postgresql:']). */
  url(name: string, fallback: string, protocols: readonly string[]): string {
    const value = this.raw(name) ?? fallback;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        return this.fail(name, value, `a URL with scheme ${protocols.join(' or ')}`, fallback);
      }
      return value;
    } catch {
      return this.fail(name, value, `a URL with scheme ${protocols.join(' or ')}`, fallback);
    }
  }

  /** A comma-separated list of host:port pairs. */
  hostPorts(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    const ok = value.split(',').every((part) => /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(part.trim()));
    return ok ? value : this.fail(name, value, 'host:port[,host:port…]', fallback);
  }

  /**
   * Records a problem the typed reads cannot express (a rule across variables, a value that parses
   * but cannot work); `done()` reports it with the others. Say `(redacted)` for a secret's value.
   */
  problem(variable: string, value: string | undefined, expected: string): void {
    this.problems.push({ variable, value, expected });
  }

  /** Throws a ConfigError naming every bad variable read so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}
