/** One problem in a topic catalog, located by a path such as `topics[2] (fleet.x.y.v1).partitions`. */
export interface CatalogProblem {
  where: string;
  message: string;
}

/** The catalog file is unreadable or invalid; fixing it needs a human, so never retriable. */
export class CatalogError extends Error {
  readonly retriable = false;
  readonly source: string;
  readonly problems: readonly CatalogProblem[];

  constructor(source: string, problems: readonly CatalogProblem[]) {
    super(
      `invalid topic catalog ${source}:\n${problems.map((p) => `  ${p.where ? `${p.where}: ` : ''}${p.message}`).join('\n')}`,
    );
    this.name = 'CatalogError';
    this.source = source;
    this.problems = problems;
  }
}

/** The requested profile is not in the catalog; never retriable. */
export class UnknownProfileError extends Error {
  readonly retriable = false;
  readonly profile: string;

  constructor(profile: string, known: readonly string[]) {
    super(
      `no profile named ${JSON.stringify(profile)} in the catalog (it has ${known.join(', ') || 'none'}); choose one with --profile or TOPICS_PROFILE`,
    );
    this.name = 'UnknownProfileError';
    this.profile = profile;
  }
}

/** A cluster operation failed; `retriable` says whether trying again later can succeed (broker down, leader moving). */
export class TopicAdminError extends Error {
  readonly retriable: boolean;
  readonly operation: string;

  constructor(operation: string, message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(`${operation}: ${message}`, options);
    this.name = 'TopicAdminError';
    this.operation = operation;
    this.retriable = retriable;
  }
}

/** The Java helper that reads and alters topic configs cannot run here (no JDK or no Kafka client jars). */
export class ConfigAdminUnavailableError extends Error {
  readonly retriable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigAdminUnavailableError';
  }
}
