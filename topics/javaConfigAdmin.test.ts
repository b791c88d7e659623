import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { javaConfigAdmin } from './javaConfigAdmin.ts';
import { ConfigAdminUnavailableError } from './topicsErrors.ts';

describe('javaConfigAdmin', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says how to get the Kafka client jars when they are missing, and that retrying will not help', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'topics-libs-'));
    dirs.push(empty);
    const admin = javaConfigAdmin({
      bootstrap: '127.0.0.1:1',
      timeoutMs: 1000,
      kafkaLibsDir: empty,
      cacheDir: path.join(empty, 'cache'),
    });
    const failure = admin.describe(['fleet.a.b.v1']);
    await expect(failure).rejects.toBeInstanceOf(ConfigAdminUnavailableError);
    await expect(failure).rejects.toThrow(
      /holds no kafka-clients-\*\.jar: run `npm run -s stack:up`.*KAFKA_LIBS_DIR/,
    );
    await expect(failure).rejects.toMatchObject({ retriable: false });
  });

  it('starts no JVM when there is nothing to read or change', async () => {
    const admin = javaConfigAdmin({
      bootstrap: '127.0.0.1:1',
      timeoutMs: 1000,
      kafkaLibsDir: '/nonexistent',
      cacheDir: '/nonexistent',
    });
    expect(await admin.describe([])).toEqual(new Map());
    expect(await admin.alter([])).toEqual(new Map());
  });
});
