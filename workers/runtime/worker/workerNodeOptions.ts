/**
 * V8 and allocator settings for worker processes. Measured (P6, docs/benchmarks.md): with
 * Node's defaults a worker draining a backlog at ~20k msg/s grows to ~450 MiB RSS, mostly V8
 * reserving a large young generation and old space it rarely needs; with a 4 MiB semi-space
 * and a 192 MiB old-space ceiling it stays flat near 170 MiB at the same or better throughput.
 * MALLOC_ARENA_MAX=2 keeps glibc from giving each librdkafka/libuv thread its own 64 MiB arena.
 * `npm start` applies them; the Deployments in deploy/base set the same (deploy/manifests.test.ts).
 */
export const workerNodeOptions = '--max-semi-space-size=4 --max-old-space-size=192';

/** Environment for a worker child process: the caller's NODE_OPTIONS win when set. */
export function workerProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    NODE_OPTIONS: base.NODE_OPTIONS ?? workerNodeOptions,
    MALLOC_ARENA_MAX: base.MALLOC_ARENA_MAX ?? '2',
  };
}
