// Prints a development JWT the local ingress accepts, and nothing else:
//   npm run -s token -- --sub <subject> [--role customer|admin] [--ttl 3600]
// It reads the same JWT_* variables as the ingress, so both agree on secret, issuer and audience.
import { parseArgs } from 'node:util';
import { ConfigError } from '../runtime/config/configError.ts';
import { EnvReader } from '../runtime/config/envReader.ts';
import { maxDevTokenTtlSeconds, mintDevToken } from './auth/devToken.ts';
import { type Role, readJwtSettings, roles } from './auth/jwtSettings.ts';

const usage = `usage: npm run -s token -- --sub <subject> [--role customer|admin] [--ttl seconds (1-${maxDevTokenTtlSeconds}, default 3600)]`;

/** A bad command line; exit code 2 like other CLIs. */
class UsageError extends Error {
  readonly retriable = false;
}

/** Parses the command line into the token's claims. */
export function parseMintArguments(args: readonly string[]): {
  subject: string;
  role: Role;
  ttlSeconds: number;
} {
  let values: { sub?: string; role?: string; ttl?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { sub: { type: 'string' }, role: { type: 'string' }, ttl: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const subject = values.sub?.trim();
  if (!subject) throw new UsageError('--sub is required');
  if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/.test(subject)) {
    throw new UsageError('--sub must be 1-255 printable ASCII characters');
  }
  const role = values.role ?? 'customer';
  if (!(roles as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${roles.join(', ')}`);
  const ttlText = values.ttl ?? '3600';
  const ttlSeconds = /^\d+$/.test(ttlText) ? Number(ttlText) : Number.NaN;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxDevTokenTtlSeconds) {
    throw new UsageError(`--ttl must be an integer between 1 and ${maxDevTokenTtlSeconds}`);
  }
  return { subject, role: role as Role, ttlSeconds };
}

async function main(): Promise<void> {
  const env = process.env;
  // Checked first and on its own: a production shell must never sign with the public dev secret.
  if (env.NODE_ENV === 'production' && (env.JWT_SECRET ?? '').trim() === '') {
    process.stderr.write('token: refusing to mint: NODE_ENV=production and JWT_SECRET is unset\n');
    process.exit(78);
  }
  try {
    const claims = parseMintArguments(process.argv.slice(2));
    const reader = new EnvReader(env);
    const settings = readJwtSettings(reader, env);
    reader.done();
    process.stdout.write(`${await mintDevToken(settings, claims)}\n`);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`token: ${error.message}\n${usage}\n`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`token: ${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`token: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();
