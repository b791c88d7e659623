import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { devJwtSecret } from './auth/jwtSettings.ts';
import { createBearerVerifier } from './auth/jwtVerifier.ts';
import { loadIngressConfig } from './ingressConfig.ts';
import { parseMintArguments } from './mintToken.ts';

const cli = fileURLToPath(new URL('./mintToken.ts', import.meta.url));
const run = promisify(execFile);
const cleanEnv = { PATH: process.env.PATH ?? '' };

describe('token CLI arguments', () => {
  it('defaults to a customer token for an hour', () => {
    expect(parseMintArguments(['--sub', 'alice'])).toEqual({
      subject: 'alice',
      role: 'customer',
      ttlSeconds: 3600,
    });
    expect(parseMintArguments(['--sub', 'ops', '--role', 'admin', '--ttl', '60'])).toEqual({
      subject: 'ops',
      role: 'admin',
      ttlSeconds: 60,
    });
  });

  it('refuses a missing subject, unknown roles, bad lifetimes and unknown options', () => {
    for (const args of [
      [],
      ['--sub', ''],
      ['--sub', 'a', '--role', 'root'],
      ['--sub', 'a', '--ttl', '0'],
      ['--sub', 'a', '--ttl', '86401'],
      ['--sub', 'a', '--x'],
    ]) {
      expect(() => parseMintArguments(args), args.join(' ')).toThrow();
    }
  });
});

describe('token CLI process', () => {
  it('prints only a token that the ingress configuration with the same environment accepts', async () => {
    const { stdout, stderr } = await run(process.execPath, [cli, '--sub', 'cli-user', '--role', 'admin'], {
      env: cleanEnv,
    });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const verify = await createBearerVerifier(loadIngressConfig({}).jwt);
    expect(await verify(`Bearer ${stdout.trim()}`)).toEqual({ subject: 'cli-user', role: 'admin' });
  });

  it('refuses to run with NODE_ENV=production and no JWT_SECRET, printing nothing on stdout', async () => {
    const failure = await run(process.execPath, [cli, '--sub', 'x'], {
      env: { ...cleanEnv, NODE_ENV: 'production' },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 78, stdout: '' });
    expect((failure as { stderr: string }).stderr).toContain('JWT_SECRET');
  });

  it('signs with JWT_SECRET when set, so only an ingress with that secret accepts it', async () => {
    const secret = 'x'.repeat(48);
    const { stdout } = await run(process.execPath, [cli, '--sub', 'prod-like'], {
      env: { ...cleanEnv, JWT_SECRET: secret },
    });
    const withSecret = await createBearerVerifier(loadIngressConfig({ JWT_SECRET: secret }).jwt);
    expect((await withSecret(`Bearer ${stdout.trim()}`)).subject).toBe('prod-like');
    const withDevSecret = await createBearerVerifier(loadIngressConfig({}).jwt);
    await expect(withDevSecret(`Bearer ${stdout.trim()}`)).rejects.toThrow();
    expect(secret).not.toBe(devJwtSecret);
  });

  it('exits 2 with usage on bad arguments', async () => {
    const failure = await run(process.execPath, [cli, '--role', 'admin'], { env: cleanEnv }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 2, stdout: '' });
    expect((failure as { stderr: string }).stderr).toMatch(/--sub is required[\s\S]*usage:/);
  });
});
