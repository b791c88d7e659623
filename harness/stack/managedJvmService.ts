import fs from 'node:fs';
import path from 'node:path';
import { liveRecord, startDetached, stopRecorded, waitUntilHealthy } from './processControl.ts';
import { type ServiceStatus, type StackService, StackServiceError } from './stackService.ts';

/** What differs between the JVM services the stack runs itself (Kafka, the registry). */
export interface ManagedProcessSpec {
  name: string;
  endpoint: string;
  runDir: string;
  logDir: string;
  startTimeoutMs: number;
  /** Resolves when the service answers on its endpoint. */
  probe: () => Promise<void>;
  /** Downloads and prepares everything the first start needs; idempotent. */
  prepare: () => Promise<void>;
  /** The command line; it must contain `marker`. */
  command: () => { command: string; args: string[]; cwd: string; marker: string; env?: NodeJS.ProcessEnv };
}

/** A service process this stack starts detached, tracks by pid file and stops by pid. */
export class ManagedProcessService implements StackService {
  readonly name: string;
  readonly endpoint: string;
  readonly logFile: string;
  private readonly pidFile: string;
  private readonly spec: ManagedProcessSpec;

  constructor(spec: ManagedProcessSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.endpoint = spec.endpoint;
    this.logFile = path.join(spec.logDir, `${spec.name}.log`);
    this.pidFile = path.join(spec.runDir, `${spec.name}.pid`);
  }

  private async answers(): Promise<boolean> {
    try {
      await this.spec.probe();
      return true;
    } catch {
      return false;
    }
  }

  async up(signal?: AbortSignal): Promise<'started' | 'already-running' | 'external'> {
    signal?.throwIfAborted();
    const record = liveRecord(this.pidFile);
    if (record) {
      const result = await waitUntilHealthy(
        this.spec.probe,
        this.spec.startTimeoutMs,
        () => !!liveRecord(this.pidFile),
      );
      if (!result.ok)
        throw new StackServiceError(
          this.name,
          `running as pid ${record.pid} but ${result.reason}`,
          this.logFile,
        );
      return 'already-running';
    }
    if (await this.answers()) return 'external';
    try {
      await this.spec.prepare();
    } catch (error) {
      throw new StackServiceError(this.name, `preparation failed: ${(error as Error).message}`, this.logFile);
    }
    // Interrupted while checking or preparing: a process spawned now would outlive the caller.
    signal?.throwIfAborted();
    const { command, args, cwd, marker, env } = this.spec.command();
    fs.mkdirSync(this.spec.logDir, { recursive: true });
    fs.appendFileSync(
      this.logFile,
      `\n=== ${new Date().toISOString()} starting ${this.name}: ${command} ${args.join(' ')}\n`,
    );
    startDetached({
      service: this.name,
      command,
      args,
      cwd,
      marker,
      logFile: this.logFile,
      pidFile: this.pidFile,
      ...(env ? { env } : {}),
    });
    const result = await waitUntilHealthy(
      this.spec.probe,
      this.spec.startTimeoutMs,
      () => !signal?.aborted && !!liveRecord(this.pidFile),
    );
    if (!result.ok || signal?.aborted) {
      // Detached, the process ignores the terminal's Ctrl-C: an interrupted start must stop it.
      await stopRecorded(this.pidFile, 10_000);
      signal?.throwIfAborted();
      throw new StackServiceError(this.name, result.ok ? 'interrupted' : result.reason, this.logFile);
    }
    return 'started';
  }

  async down(): Promise<boolean> {
    return stopRecorded(this.pidFile);
  }

  async status(): Promise<ServiceStatus> {
    const record = liveRecord(this.pidFile);
    const healthy = await this.answers();
    return {
      service: this.name,
      endpoint: this.endpoint,
      healthy,
      ownership: record ? 'managed' : healthy ? 'external' : 'down',
      ...(record ? { pid: record.pid, logFile: this.logFile } : {}),
    };
  }
}
