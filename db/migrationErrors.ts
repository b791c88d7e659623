import { isRetriablePgError } from './pgErrors.ts';

/** Base of every migration failure; `retriable` says whether running `migrate` again can help. */
export class MigrationError extends Error {
  readonly retriable: boolean;

  constructor(message: string, retriable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
    this.retriable = retriable;
  }
}

/** A file in the migrations folder that breaks the naming or numbering rules. */
export class MigrationFileError extends MigrationError {
  constructor(message: string) {
    super(message, false);
    this.name = 'MigrationFileError';
  }
}

/** An applied migration's file changed after it ran: the database no longer matches the code's history. */
export class MigrationChecksumError extends MigrationError {
  readonly fileName: string;

  constructor(fileName: string, appliedChecksum: string, currentChecksum: string) {
    super(
      `migration ${fileName} was changed after it was applied (applied sha256 ${appliedChecksum}, file now ${currentChecksum}); ` +
        'restore the file and put the change in a new migration',
      false,
    );
    this.name = 'MigrationChecksumError';
    this.fileName = fileName;
  }
}

/** The database records a migration the code does not have (an older build, or a deleted file). */
export class MissingMigrationFileError extends MigrationError {
  constructor(version: number, name: string) {
    super(
      `migration ${String(version).padStart(3, '0')}_${name} is applied but its file is missing; this build is older than the database`,
      false,
    );
    this.name = 'MissingMigrationFileError';
  }
}

/** A pending migration numbered below one already applied: it would run after its successors. */
export class OutOfOrderMigrationError extends MigrationError {
  constructor(fileName: string, highestApplied: number) {
    super(
      `migration ${fileName} is pending but migration ${String(highestApplied).padStart(3, '0')} is already applied; renumber it above the latest`,
      false,
    );
    this.name = 'OutOfOrderMigrationError';
  }
}

/** Another migrator held the lock for longer than the configured wait. */
export class MigrationLockTimeoutError extends MigrationError {
  constructor(waitedMs: number) {
    super(`another migrator held the migration lock for more than ${waitedMs} ms`, true);
    this.name = 'MigrationLockTimeoutError';
  }
}

/** A migration's SQL failed; its transaction rolled back and nothing of it was recorded. */
export class MigrationFailedError extends MigrationError {
  readonly fileName: string;

  constructor(fileName: string, cause: unknown) {
    super(
      `migration ${fileName} failed and was rolled back: ${cause instanceof Error ? cause.message : String(cause)}`,
      isRetriablePgError(cause),
      { cause },
    );
    this.name = 'MigrationFailedError';
    this.fileName = fileName;
  }
}
