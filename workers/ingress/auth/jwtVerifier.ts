import {
  type CryptoKey,
  importSPKI,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  type KeyObject,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { ConfigError } from '../../runtime/config/configError.ts';
import { type JwtSettings, type Role, roles } from './jwtSettings.ts';

/** Who is calling, as the verified token says. The customer is always `subject`, never a body field. */
export interface Principal {
  subject: string;
  role: Role;
}

/** Why a request is not authenticated; the 401 says as much as RFC 6750 allows, never more. */
export type AuthenticationFailure = 'missing' | 'malformed' | 'invalid' | 'expired';

/** The request carries no acceptable bearer token (401). Never retriable with the same token. */
export class AuthenticationError extends Error {
  readonly retriable = false;
  readonly failure: AuthenticationFailure;

  constructor(failure: AuthenticationFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthenticationError';
    this.failure = failure;
  }
}

/** Verifies the Authorization header of a request and returns its principal. */
export type BearerVerifier = (authorization: string | undefined) => Promise<Principal>;

/** A JWS compact serialization is three base64url parts; anything longer than this is not one of ours. */
const maxTokenLength = 4096;
const bearerPattern = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
/** Subjects become database values and log fields: bounded, printable, no control characters. */
const subjectPattern = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/** A token that passed verification, and until when (ms since epoch) it stays acceptable. */
interface VerifiedToken {
  principal: Principal;
  acceptableUntilMs: number;
}

/**
 * Builds the verifier: the algorithm is pinned (a token naming another one, `none` included, is
 * refused before any key is used, which also rules out HS/RS confusion), and `iss`, `aud`,
 * `exp` (with the configured tolerance), `sub` and `role` are required.
 *
 * A client sends the same token with every request, and the signature check (WebCrypto, async)
 * was the largest single CPU cost of a POST. So a token that verified is remembered, keyed by its
 * exact bytes, until its `exp` plus the tolerance: the same bytes with the same pinned key and
 * claims verify the same way until then, and the expiry is re-checked on every hit. Failures are
 * never cached (a bad token costs a verification every time, as before). `now` is for tests.
 */
export async function createBearerVerifier(
  settings: JwtSettings,
  now: () => number = Date.now,
): Promise<BearerVerifier> {
  const key = await verificationKey(settings);
  const options = {
    algorithms: [settings.algorithm],
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockToleranceSeconds,
    requiredClaims: ['exp', 'sub'],
  };
  const verified =
    settings.verifiedCacheSize > 0
      ? new LRUCache<string, VerifiedToken>({ max: settings.verifiedCacheSize })
      : undefined;
  return async (authorization) => {
    if (authorization === undefined || authorization === '') {
      throw new AuthenticationError('missing', 'no bearer token');
    }
    if (authorization.length > maxTokenLength + 7) {
      throw new AuthenticationError('malformed', 'the bearer token is too long');
    }
    const token = bearerPattern.exec(authorization)?.[1];
    if (token === undefined)
      throw new AuthenticationError('malformed', 'the Authorization header is not a bearer JWT');
    const remembered = verified?.get(token);
    if (remembered !== undefined) {
      if (now() < remembered.acceptableUntilMs) return remembered.principal;
      verified?.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, { ...options, currentDate: new Date(now()) }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        throw new AuthenticationError('expired', 'the token has expired', { cause: error });
      }
      throw new AuthenticationError('invalid', 'the token failed verification', { cause: error });
    }
    // jose checks `iat` only against a maximum token age; a token "issued" beyond the clock
    // tolerance in the future comes from a skewed or compromised issuer.
    if (typeof payload.iat === 'number' && payload.iat > now() / 1000 + settings.clockToleranceSeconds) {
      throw new AuthenticationError('invalid', 'the token was issued in the future');
    }
    const principal = principalOf(payload);
    // requiredClaims guarantees a numeric exp here.
    verified?.set(token, {
      principal,
      acceptableUntilMs: ((payload.exp as number) + settings.clockToleranceSeconds) * 1000,
    });
    return principal;
  };
}

/** The principal of a verified payload; a token without a usable subject or role is invalid. */
export function principalOf(payload: JWTPayload): Principal {
  const subject = payload.sub;
  if (typeof subject !== 'string' || !subjectPattern.test(subject)) {
    throw new AuthenticationError('invalid', 'the token has no usable subject');
  }
  const role = payload.role;
  if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) {
    throw new AuthenticationError('invalid', 'the token has no valid role claim');
  }
  return { subject, role: role as Role };
}

async function verificationKey(settings: JwtSettings): Promise<Uint8Array | CryptoKey | KeyObject> {
  if (settings.algorithm === 'HS256') {
    if (settings.secret === undefined)
      throw new ConfigError([{ variable: 'JWT_SECRET', value: undefined, expected: 'a secret' }]);
    return new TextEncoder().encode(settings.secret);
  }
  if (settings.publicKeyPem === undefined) {
    throw new ConfigError([
      { variable: 'JWT_PUBLIC_KEY', value: undefined, expected: 'a PEM SPKI public key' },
    ]);
  }
  try {
    return await importSPKI(settings.publicKeyPem, settings.algorithm);
  } catch (cause) {
    throw new ConfigError([
      {
        variable: 'JWT_PUBLIC_KEY',
        value: '(invalid)',
        expected: `a PEM SPKI public key usable with ${settings.algorithm} (${(cause as Error).message})`,
      },
    ]);
  }
}
