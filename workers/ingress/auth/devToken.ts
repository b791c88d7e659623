import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtSettings, Role } from './jwtSettings.ts';

/** What a development token says. */
export interface DevTokenClaims {
  subject: string;
  role: Role;
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

/** Longest lifetime a dev token may have: a leaked one must not stay useful for long. */
export const maxDevTokenTtlSeconds = 86_400;

/**
 * Signs an HS256 token the ingress accepts with the same settings (issuer, audience, secret).
 * Development and tests only: production tokens come from the identity provider.
 */
export async function mintDevToken(
  settings: JwtSettings,
  claims: DevTokenClaims,
  now = Date.now(),
): Promise<string> {
  if (settings.algorithm !== 'HS256' || settings.secret === undefined) {
    throw new Error(
      `dev tokens are HS256; JWT_ALGORITHM is ${settings.algorithm} (set JWT_ALGORITHM=HS256 and JWT_SECRET)`,
    );
  }
  if (
    !Number.isInteger(claims.ttlSeconds) ||
    claims.ttlSeconds < 1 ||
    claims.ttlSeconds > maxDevTokenTtlSeconds
  ) {
    throw new RangeError(`ttl must be an integer between 1 and ${maxDevTokenTtlSeconds} seconds`);
  }
  const issuedAt = Math.floor(now / 1000);
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + claims.ttlSeconds)
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(settings.secret));
}
