import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit codes of `ops` (topics and schemas pass their own through; see their usage). */
export const exitCodes = Object.freeze({
  /** Done. */
  ok: 0,
  /** Something failed: Kafka, the registry or the monitor unreachable, a record not found, a send failed. */
  failure: 1,
  /** Bad arguments or configuration. */
  usage: 2,
  /** Refused on purpose: a precondition does not hold (active group members, a replay already running). */
  refused: 3,
});

/** Where a command writes and what environment it reads; injectable so tests read the output. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Bad command-line arguments: print the message and the usage, exit 2. Never retriable. */
export class UsageError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A precondition refused the operation (exit 3); retriable when waiting may lift it. */
export class RefusedError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean) {
    super(message);
    this.name = 'RefusedError';
    this.retriable = retriable;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs in strict mode, with every parse error turned into a UsageError. */
export function parseCommand<const O extends Options>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A whole number within [min, max] given as `--name`. */
export function parseInteger(name: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** An ISO 8601 date-time with a zone (`2026-05-01T10:00:00Z`), in ms since epoch. */
export function parseIsoTime(name: string, text: string): number {
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const time = Date.parse(text);
  if (!zoned || Number.isNaN(time)) {
    throw new UsageError(
      `--${name} must be an ISO 8601 date-time with a zone, like 2026-05-01T10:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return time;
}

/** A rate written `N/s` or `N` (records per second), N > 0. */
export function parseRate(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text);
  const rate = match ? Number(match[1]) : Number.NaN;
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new UsageError(`--${name} must be a positive rate like 20/s, got ${JSON.stringify(text)}`);
  }
  return rate;
}

/** The single positional a command expects, or a UsageError naming it. */
export function onePositional(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  return positionals[0]!;
}

/** Renders rows as left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * Answers `--help`/`-h` (anywhere) and a missing subcommand with the command's usage; returns the
 * exit code to use, or undefined when the subcommand should run.
 */
export function subcommandHelp(
  sub: string | undefined,
  rest: readonly string[],
  io: CliIo,
  usage: string,
): number | undefined {
  if (
    sub !== undefined &&
    sub !== '--help' &&
    sub !== '-h' &&
    !rest.includes('--help') &&
    !rest.includes('-h')
  ) {
    return undefined;
  }
  io.out(usage);
  return sub === undefined ? exitCodes.usage : exitCodes.ok;
}
