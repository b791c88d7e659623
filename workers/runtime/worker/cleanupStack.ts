/**
 * What a process acquired while starting, released in reverse order of acquisition. A failing
 * step is reported and the remaining steps still run: a stuck producer must not keep the health
 * server or the database pool open.
 */
export class CleanupStack {
  private readonly steps: Array<{ run: () => Promise<void> | void; name: string | undefined }> = [];
  private readonly onError: (error: Error, name: string | undefined) => void;

  /** `onError` hears each failed step and the name it was pushed with (a log line); it must not throw. */
  constructor(onError: (error: Error, name: string | undefined) => void) {
    this.onError = onError;
  }

  /** Registers the release of something just acquired; `name` says what, in error reports. */
  push(run: () => Promise<void> | void, name?: string): void {
    this.steps.push({ run, name });
  }

  /** Runs every registered step, newest first, once; later calls find nothing left to do. */
  async closeAll(): Promise<void> {
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        this.onError(error as Error, step.name);
      }
    }
  }
}
