/** One bad environment variable: its name, the raw value and what was expected. */
export interface ConfigProblem {
  variable: string;
  value: string | undefined;
  expected: string;
}

/** Thrown when a process's environment does not describe a valid configuration; never retriable. */
export class ConfigError extends Error {
  readonly retriable = false;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems
        .map(
          (p) =>
            `  ${p.variable}=${p.value === undefined ? '(unset)' : JSON.stringify(p.value)}: expected ${p.expected}`,
        )
        .join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
