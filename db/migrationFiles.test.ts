import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationFileError } from './migrationErrors.ts';
import { migrationChecksum, readMigrationFiles } from './migrationFiles.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fleetstream-migration-files-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readMigrationFiles', () => {
  it('orders by version and checksums the exact bytes', async () => {
    await writeFile(path.join(dir, '010_later.sql'), 'SELECT 10;\n');
    await writeFile(path.join(dir, '002_first_thing.sql'), 'SELECT 2;\n');
    await writeFile(path.join(dir, 'README.md'), 'not a migration');

    const files = await readMigrationFiles(dir);

    expect(files.map((f) => [f.version, f.name])).toEqual([
      [2, 'first_thing'],
      [10, 'later'],
    ]);
    expect(files[0]?.checksum).toBe(migrationChecksum('SELECT 2;\n'));
    expect(migrationChecksum('SELECT 2;\n')).not.toBe(migrationChecksum('SELECT 2; \n'));
  });

  it.each([['1_short.sql'], ['001-dash.sql'], ['001_Upper.sql'], ['000_zero.sql']])(
    'refuses the misnamed file %s instead of skipping it',
    async (fileName) => {
      await writeFile(path.join(dir, fileName), 'SELECT 1;');
      await expect(readMigrationFiles(dir)).rejects.toBeInstanceOf(MigrationFileError);
      await expect(readMigrationFiles(dir)).rejects.toThrow(fileName);
    },
  );

  it('refuses two files with one version', async () => {
    await writeFile(path.join(dir, '003_a.sql'), 'SELECT 1;');
    await writeFile(path.join(dir, '003_b.sql'), 'SELECT 1;');
    await expect(readMigrationFiles(dir)).rejects.toThrow(/003_a\.sql|003_b\.sql/);
  });

  it("reads the repository's migrations as a gapless sequence from 001", async () => {
    const files = await readMigrationFiles();
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(files.map((f) => f.version)).toEqual(files.map((_, index) => index + 1));
  });
});
