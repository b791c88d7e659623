import { ConfigError, type ConfigProblem } from '../runtime/config/configError.ts';
import type { EnvReader } from '../runtime/config/envReader.ts';

/**
 * Cross-field rules (HS256 needs a secret, RS256 a public key, …) that EnvReader cannot express:
 * collected here and reported together with the reader's own problems in one ConfigError.
 */
export class ConfigProblems {
  private readonly problems: ConfigProblem[] = [];

  /** Records a bad variable. */
  add(variable: string, value: string | undefined, expected: string): void {
    this.problems.push({ variable, value, expected });
  }

  /** Runs `reader.done()` and throws one ConfigError naming every problem from both. */
  finish(reader: EnvReader): void {
    let readerProblems: readonly ConfigProblem[] = [];
    try {
      reader.done();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      readerProblems = error.problems;
    }
    const all = [...readerProblems, ...this.problems];
    if (all.length > 0) throw new ConfigError(all);
  }
}
