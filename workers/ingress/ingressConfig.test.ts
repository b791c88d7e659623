import { describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config/configError.ts';
import { devJwtSecret } from './auth/jwtSettings.ts';
import { loadIngressConfig } from './ingressConfig.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadIngressConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => p.variable);
  }
  throw new Error('expected a ConfigError');
}

describe('ingress configuration', () => {
  it('has defaults that work on the local stack and match BRIEF §4', () => {
    const config = loadIngressConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 4096,
      jwt: {
        algorithm: 'HS256',
        secret: devJwtSecret,
        issuer: 'fleetstream-dev',
        audience: 'fleetstream-api',
        usesDevSecret: true,
      },
      rateLimit: {
        customer: { quota: 60, windowSeconds: 60 },
        ip: { quota: 300, windowSeconds: 60 },
        fallbackInstances: 1,
      },
      redis: { connectTimeoutMs: 250, commandTimeoutMs: 250 },
      reservations: { maxDurationDays: 30, maxAdvanceDays: 365, quotaPerCustomer: 5 },
      enqueue: { topic: 'fleet.reservation.commands.v1' },
    });
    expect(config.endpoints.kafkaBootstrap).toBe('127.0.0.1:9092');
    expect(Object.isFrozen(config.rateLimit.customer)).toBe(true);
  });

  it('believes X-Forwarded-For only from the proxies named, never from every hop or a hop count', () => {
    expect(loadIngressConfig({}).trustProxy).toBe(false);
    expect(
      loadIngressConfig({ INGRESS_TRUST_PROXY: '10.0.0.0/8, loopback, 2001:db8::1' }).trustProxy,
    ).toEqual(['10.0.0.0/8', 'loopback', '2001:db8::1']);
    for (const refused of ['true', '1', '10.0.0.0/33', '10.0.0.0/8,', 'proxy.internal']) {
      expect(problemsOf({ INGRESS_TRUST_PROXY: refused })).toEqual(['INGRESS_TRUST_PROXY']);
    }
  });

  it('names every bad variable at once', () => {
    expect(
      problemsOf({
        INGRESS_PORT: '70000',
        INGRESS_BODY_LIMIT_BYTES: 'big',
        RATE_LIMIT_CUSTOMER_QUOTA: '0',
        RESERVATION_COMMANDS_TOPIC: 'bad topic!',
        REDIS_COMMAND_TIMEOUT_MS: '-1',
      }).sort(),
    ).toEqual(
      [
        'INGRESS_BODY_LIMIT_BYTES',
        'INGRESS_PORT',
        'RATE_LIMIT_CUSTOMER_QUOTA',
        'REDIS_COMMAND_TIMEOUT_MS',
        'RESERVATION_COMMANDS_TOPIC',
      ].sort(),
    );
  });

  it('refuses the dev secret in production, short secrets, and a second key next to the pinned algorithm', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET']);
    expect(problemsOf({ JWT_SECRET: 'short' })).toEqual(['JWT_SECRET']);
    expect(
      problemsOf({
        JWT_SECRET: 's'.repeat(32),
        JWT_ALGORITHM: 'HS256',
        JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----x-----END PUBLIC KEY-----',
      }),
    ).toEqual(['JWT_PUBLIC_KEY']);
    expect(problemsOf({ JWT_ALGORITHM: 'RS256' })).toEqual(['JWT_PUBLIC_KEY']);
    expect(problemsOf({ JWT_ALGORITHM: 'none' })).toEqual(['JWT_ALGORITHM']);
    const production = loadIngressConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) });
    expect(production.jwt).toMatchObject({ secret: 'p'.repeat(40), usesDevSecret: false });
  });

  it('never quotes a secret in the error text', () => {
    let thrown: unknown;
    try {
      loadIngressConfig({ JWT_SECRET: 'tooshort-but-secret' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain('JWT_SECRET');
    expect((thrown as Error).message).not.toContain('tooshort-but-secret');
  });

  it('picks RS256 when a public key is given', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----';
    const config = loadIngressConfig({ JWT_PUBLIC_KEY: pem });
    expect(config.jwt.algorithm).toBe('RS256');
    expect(config.jwt.publicKeyPem).toContain('\n');
  });
});
