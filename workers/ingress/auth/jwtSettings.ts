import type { EnvReader } from '../../runtime/config/envReader.ts';

/** The algorithms the ingress can be pinned to; exactly one is accepted per deployment. */
export const jwtAlgorithms = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/** The roles a token's `role` claim may carry. */
export const roles = ['customer', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * LOCAL DEVELOPMENT ONLY: the HS256 secret used when JWT_SECRET is unset, so `npm start` and
 * `npm run token` agree out of the box. Refused when NODE_ENV=production.
 */
export const devJwtSecret = 'fleetstream-local-development-only-hs256-secret';

/** HMAC keys shorter than the hash output are brute-forceable (RFC 7518 §3.2). */
const minSecretBytes = 32;

/** How tokens are verified (and, for HS256 dev tokens, minted). */
export interface JwtSettings {
  /** JWT_ALGORITHM: the one accepted algorithm (pinned; `none` is never accepted); default HS256, or RS256 when JWT_PUBLIC_KEY is set. */
  algorithm: JwtAlgorithm;
  /** JWT_SECRET: HS256 shared secret, at least 32 bytes; default the documented local-dev secret (refused when NODE_ENV=production). */
  secret: string | undefined;
  /** JWT_PUBLIC_KEY: PEM (SPKI) public key for RS256/ES256; `\n` escapes are accepted for one-line env files. */
  publicKeyPem: string | undefined;
  /** JWT_ISSUER: required `iss`; default `fleetstream-dev`. */
  issuer: string;
  /** JWT_AUDIENCE: required `aud`; default `fleetstream-api`. */
  audience: string;
  /** JWT_CLOCK_TOLERANCE_S: accepted clock skew for `exp`/`nbf`/`iat`, seconds; default 30. */
  clockToleranceSeconds: number;
  /** JWT_VERIFIED_CACHE_SIZE: verified tokens remembered (until their `exp`) so a client's next request skips the signature check; 0 disables; default 10000. */
  verifiedCacheSize: number;
  /** Whether the built-in dev secret is in use (logged at start so nobody ships it unknowingly). */
  usesDevSecret: boolean;
}

/** Reads the JWT variables; cross-field problems go to the reader (its `done()` names each variable). */
export function readJwtSettings(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
): JwtSettings {
  const production = env.NODE_ENV === 'production';
  const rawSecret = blankToUndefined(env.JWT_SECRET);
  const rawPublicKey = blankToUndefined(env.JWT_PUBLIC_KEY);
  const algorithm = reader.oneOf('JWT_ALGORITHM', jwtAlgorithms, rawPublicKey ? 'RS256' : 'HS256');
  const issuer = reader.string('JWT_ISSUER', 'fleetstream-dev');
  const audience = reader.string('JWT_AUDIENCE', 'fleetstream-api');
  const clockToleranceSeconds = reader.int('JWT_CLOCK_TOLERANCE_S', 30, { min: 0, max: 300 });
  const verifiedCacheSize = reader.int('JWT_VERIFIED_CACHE_SIZE', 10_000, { min: 0, max: 1_000_000 });

  let secret: string | undefined;
  let publicKeyPem: string | undefined;
  let usesDevSecret = false;
  if (algorithm === 'HS256') {
    if (rawPublicKey) {
      // A public key next to HS256 is the classic setup for RS/HS confusion: refuse it.
      reader.problem(
        'JWT_PUBLIC_KEY',
        '(set)',
        'unset when JWT_ALGORITHM=HS256 (pin one algorithm and one key)',
      );
    }
    if (rawSecret === undefined) {
      if (production) {
        reader.problem(
          'JWT_SECRET',
          undefined,
          'a secret of at least 32 bytes (the dev default is refused when NODE_ENV=production)',
        );
      }
      secret = devJwtSecret;
      usesDevSecret = true;
    } else if (Buffer.byteLength(rawSecret) < minSecretBytes) {
      reader.problem('JWT_SECRET', '(redacted)', `at least ${minSecretBytes} bytes`);
    } else {
      secret = rawSecret;
    }
  } else {
    if (rawSecret !== undefined) {
      reader.problem(
        'JWT_SECRET',
        '(redacted)',
        `unset when JWT_ALGORITHM=${algorithm} (pin one algorithm and one key)`,
      );
    }
    const pem = rawPublicKey?.replaceAll('\\n', '\n');
    if (pem === undefined || !/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(pem)) {
      reader.problem(
        'JWT_PUBLIC_KEY',
        pem === undefined ? undefined : '(invalid)',
        `a PEM SPKI public key for ${algorithm}`,
      );
    } else {
      publicKeyPem = pem;
    }
  }
  return {
    algorithm,
    secret,
    publicKeyPem,
    issuer,
    audience,
    clockToleranceSeconds,
    verifiedCacheSize,
    usesDevSecret,
  };
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
