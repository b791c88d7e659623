import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationFileError } from './migrationErrors.ts';

/** One SQL migration as found on disk. */
export interface MigrationFile {
  version: number;
  name: string;
  fileName: string;
  sql: string;
  /** Hex sha256 of the file's bytes, as recorded in schema_migrations. */
  checksum: string;
}

/** The folder holding this repository's migrations. */
export const defaultMigrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

const fileNamePattern = /^(\d{3})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;

/** Hex sha256 of a migration's bytes. */
export function migrationChecksum(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Reads every `NNN_name.sql` in `dir`, ordered by version. Any other `.sql` file is an error
 * rather than skipped: a misnamed migration silently never running is worse than a failed deploy.
 */
export async function readMigrationFiles(dir: string = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = (await readdir(dir)).filter((entry) => entry.endsWith('.sql')).sort();
  const migrations: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const fileName of entries) {
    const match = fileNamePattern.exec(fileName);
    if (match === null) {
      throw new MigrationFileError(
        `${fileName} in ${dir} is not a migration name: expected NNN_lower_snake_name.sql`,
      );
    }
    const version = Number(match[1]);
    if (version === 0) throw new MigrationFileError(`${fileName}: versions start at 001`);
    const clash = seen.get(version);
    if (clash !== undefined) {
      throw new MigrationFileError(`${fileName} and ${clash} share version ${match[1]}`);
    }
    seen.set(version, fileName);
    const bytes = await readFile(path.join(dir, fileName));
    migrations.push({
      version,
      name: match[2]!,
      fileName,
      sql: bytes.toString('utf8'),
      checksum: migrationChecksum(bytes),
    });
  }
  return migrations.sort((a, b) => a.version - b.version);
}
