/** How a service of the local stack is doing. */
export interface ServiceStatus {
  service: string;
  endpoint: string;
  healthy: boolean;
  /** `managed`: started by this stack (pid known); `external`: answering, but not ours; `down`: not answering. */
  ownership: 'managed' | 'external' | 'down';
  pid?: number;
  logFile?: string;
  detail?: string;
}

/** One service of the local stack. `up` is idempotent; `down` stops only what this stack started. */
export interface StackService {
  readonly name: string;
  readonly endpoint: string;
  readonly logFile: string | undefined;
  /**
   * Makes sure the service answers; returns what was done. Throws StackServiceError on failure.
   * Once `signal` aborts it starts nothing more, stops what it spawned and rejects (a provider
   * that cannot interrupt its start may finish it; the caller stops what reports 'started').
   */
  up(signal?: AbortSignal): Promise<'started' | 'already-running' | 'external'>;
  /** Stops the service if this stack started it; returns whether anything was stopped. */
  down(): Promise<boolean>;
  status(): Promise<ServiceStatus>;
}

/** A service that could not be started or did not become healthy; names the service and its log. */
export class StackServiceError extends Error {
  readonly retriable = false;
  readonly service: string;
  readonly logFile: string | undefined;
  constructor(service: string, reason: string, logFile?: string) {
    super(`${service}: ${reason}${logFile ? ` (log: ${logFile})` : ''}`);
    this.name = 'StackServiceError';
    this.service = service;
    this.logFile = logFile;
  }
}
