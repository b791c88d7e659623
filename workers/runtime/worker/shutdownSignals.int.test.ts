import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testing/forcedExitAsPid1.ts');

describe('forceExit', () => {
  it('ends the process by a signal even as PID 1 of a container, where a SIGKILL to itself is dropped', () => {
    // A new PID namespace makes the worker PID 1, as the exec-form command of deploy/ does.
    const result = spawnSync(
      'bash',
      ['-c', `ulimit -c 0; exec unshare --pid --fork --mount-proc "${process.execPath}" "${fixture}"`],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.stdout).toContain('pid 1');
    // Killed by the fault abort() ends in (unshare passes its child's signal on), not an exit
    // through Node's exit path, which joins the thread pool a Kafka close may hang in.
    // A fault signal, not spawnSync's timeout (which would end a hung process with SIGTERM): as
    // PID 1 glibc's abort() finds its SIGABRT ignored and ends in a fault (SIGSEGV here).
    expect(result.error).toBeUndefined();
    expect(result.status).toBeNull();
    expect(['SIGABRT', 'SIGSEGV', 'SIGILL', 'SIGTRAP', 'SIGBUS']).toContain(result.signal);
    expect(result.stderr).not.toContain('unreachable');
  });
});
