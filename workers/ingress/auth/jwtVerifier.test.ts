import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config/configError.ts';
import { mintDevToken } from './devToken.ts';
import { devJwtSecret, type JwtSettings } from './jwtSettings.ts';
import { AuthenticationError, createBearerVerifier } from './jwtVerifier.ts';

const hs: JwtSettings = {
  algorithm: 'HS256',
  secret: devJwtSecret,
  publicKeyPem: undefined,
  issuer: 'fleetstream-dev',
  audience: 'fleetstream-api',
  clockToleranceSeconds: 30,
  verifiedCacheSize: 100,
  usesDevSecret: true,
};
const now = () => Math.floor(Date.now() / 1000);

async function failureOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  return (error as AuthenticationError).failure;
}

describe('bearer verification', () => {
  it('accepts a dev token and returns its subject and role', async () => {
    const verify = await createBearerVerifier(hs);
    const token = await mintDevToken(hs, { subject: 'alice', role: 'admin', ttlSeconds: 60 });
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: 'alice', role: 'admin' });
    expect(await verify(`bearer ${token}`)).toEqual({ subject: 'alice', role: 'admin' });
  });

  it('classifies missing, malformed, invalid and expired tokens', async () => {
    const verify = await createBearerVerifier(hs);
    expect(await failureOf(verify(undefined))).toBe('missing');
    expect(await failureOf(verify('Basic abc'))).toBe('malformed');
    expect(await failureOf(verify(`Bearer ${'a'.repeat(5000)}.b.c`))).toBe('malformed');
    const expired = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer(hs.issuer)
      .setAudience(hs.audience)
      .setExpirationTime(now() - 60)
      .sign(new TextEncoder().encode(devJwtSecret));
    expect(await failureOf(verify(`Bearer ${expired}`))).toBe('expired');
    const noExp = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer(hs.issuer)
      .setAudience(hs.audience)
      .sign(new TextEncoder().encode(devJwtSecret));
    expect(await failureOf(verify(`Bearer ${noExp}`))).toBe('invalid');
  });

  it('refuses a token issued in the future beyond the clock tolerance, accepts one within it', async () => {
    const verify = await createBearerVerifier(hs);
    const issuedAt = async (iat: number) =>
      new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer(hs.issuer)
        .setAudience(hs.audience)
        .setIssuedAt(iat)
        .setExpirationTime(now() + 600)
        .sign(new TextEncoder().encode(devJwtSecret));
    expect(await failureOf(verify(`Bearer ${await issuedAt(now() + 365 * 86_400)}`))).toBe('invalid');
    expect(await failureOf(verify(`Bearer ${await issuedAt(now() + 60)}`))).toBe('invalid');
    expect(await verify(`Bearer ${await issuedAt(now() + 20)}`)).toEqual({
      subject: 'alice',
      role: 'customer',
    });
  });

  it('refuses alg none even with valid claims', async () => {
    const verify = await createBearerVerifier(hs);
    const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = `${part({ alg: 'none' })}.${part({ sub: 'a', role: 'admin', iss: hs.issuer, aud: hs.audience, exp: now() + 60 })}.`;
    expect(await failureOf(verify(`Bearer ${token}`))).toBe('invalid');
  });

  it('pinned to RS256, refuses an HS256 token signed with the public key text (algorithm confusion)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const verify = await createBearerVerifier({
      ...hs,
      algorithm: 'RS256',
      secret: undefined,
      publicKeyPem: pem,
    });
    const claims = { role: 'admin' };
    const genuine = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('ops')
      .setIssuer(hs.issuer)
      .setAudience(hs.audience)
      .setExpirationTime(now() + 60)
      .sign(privateKey);
    expect(await verify(`Bearer ${genuine}`)).toEqual({ subject: 'ops', role: 'admin' });
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops')
      .setIssuer(hs.issuer)
      .setAudience(hs.audience)
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode(pem));
    expect(await failureOf(verify(`Bearer ${confused}`))).toBe('invalid');
  });

  it('refuses subjects that are empty, too long or contain control characters', async () => {
    const verify = await createBearerVerifier(hs);
    for (const subject of ['x'.repeat(256), 'line\nbreak', ' padded']) {
      const token = await new SignJWT({ role: 'customer' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(subject)
        .setIssuer(hs.issuer)
        .setAudience(hs.audience)
        .setExpirationTime(now() + 60)
        .sign(new TextEncoder().encode(devJwtSecret));
      expect(await failureOf(verify(`Bearer ${token}`))).toBe('invalid');
    }
  });

  it('remembers a verified token only until its exp plus the tolerance', async () => {
    let clockMs = Date.now();
    const verify = await createBearerVerifier(hs, () => clockMs);
    const token = await mintDevToken(hs, { subject: 'alice', role: 'customer', ttlSeconds: 60 });
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: 'alice', role: 'customer' });
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: 'alice', role: 'customer' });
    // Past exp but inside the 30 s tolerance: still accepted, as an uncached verification would.
    clockMs += 75_000;
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: 'alice', role: 'customer' });
    // Past exp + tolerance: the remembered result must not outlive the token.
    clockMs += 20_000;
    expect(await failureOf(verify(`Bearer ${token}`))).toBe('expired');
  });

  it('never lets a remembered token vouch for other bytes', async () => {
    const verify = await createBearerVerifier(hs);
    const token = await mintDevToken(hs, { subject: 'alice', role: 'customer', ttlSeconds: 60 });
    await verify(`Bearer ${token}`);
    const [header, , signature] = token.split('.');
    const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const forged = `${header}.${part({ sub: 'alice', role: 'admin', iss: hs.issuer, aud: hs.audience, exp: now() + 60 })}.${signature}`;
    expect(await failureOf(verify(`Bearer ${forged}`))).toBe('invalid');
  });

  it('with the cache disabled, verifies every time and still expires tokens', async () => {
    let clockMs = Date.now();
    const verify = await createBearerVerifier({ ...hs, verifiedCacheSize: 0 }, () => clockMs);
    const token = await mintDevToken(hs, { subject: 'bob', role: 'customer', ttlSeconds: 10 });
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: 'bob', role: 'customer' });
    clockMs += 41_000;
    expect(await failureOf(verify(`Bearer ${token}`))).toBe('expired');
  });

  it('reports an unusable public key as a ConfigError naming JWT_PUBLIC_KEY', async () => {
    const broken = createBearerVerifier({
      ...hs,
      algorithm: 'ES256',
      secret: undefined,
      publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
    });
    await expect(broken).rejects.toBeInstanceOf(ConfigError);
    await expect(broken).rejects.toThrow(/JWT_PUBLIC_KEY/);
  });
});
