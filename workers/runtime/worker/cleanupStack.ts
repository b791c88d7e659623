/**
 * What a process acquired while starting, released in reverse order of acquisition. A failing
 * step is reported and the remaining steps still run: a stuck producer must not keep the health
 * server or the database pool open.
 */
export class CleanupStack {
  private readonly steps: Array<() => Promise<void> | void> = [];
  private readonly onError: (error: Error) => void;

  /** `onError` hears each failed step (a log line); it must not throw. */
  constructor(onError: (error: Error) => void) {
    this.onError = onError;
  }

  /** Registers the release of something just acquired. */
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  /** Runs every registered step, newest first, once; later calls find nothing left to do. */
  async closeAll(): Promise<void> {
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step();
      } catch (error) {
        this.onError(error as Error);
      }
    }
  }
}
