/**
 * A typed door to autocannon's programmatic API (the package ships no types): one closed-loop
 * run with a request generator, returning the counts and latencies the benchmarks report.
 */
import { createRequire } from 'node:module';

/** One request as autocannon builds it; `setupRequest` may replace any field per request. */
export interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  timeout?: number;
  requests: { method: string; path: string; setupRequest: (request: LoadRequest) => LoadRequest }[];
}

/** The part of autocannon's latency histogram the benchmarks read (milliseconds). */
interface LatencyPercentiles {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  totalCompletedRequests: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: LatencyPercentiles;
}

type Autocannon = (
  options: AutocannonOptions,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => { stop(): void };

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** What one run measured. */
export interface LoadRun {
  seconds: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Responses with status `status`, per second of the run. */
  rateOf(status: number): number;
  completed: number;
  /** Socket errors and timeouts (no response at all). */
  errors: number;
  timeouts: number;
  latency: LatencyPercentiles;
}

/** POSTs to `url` + `path` with `connections` keep-alive connections for `seconds`; `next()` makes each request. */
export function runAutocannon(options: {
  url: string;
  path: string;
  connections: number;
  pipelining: number;
  seconds: number;
  next: () => LoadRequest;
}): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        pipelining: options.pipelining,
        duration: options.seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: options.path,
            setupRequest: (request) => ({ ...request, ...options.next() }),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const statuses = Object.fromEntries(
          Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
        );
        resolve({
          seconds: result.duration,
          statuses,
          rateOf: (status) => (statuses[String(status)] ?? 0) / result.duration,
          completed: result.totalCompletedRequests,
          errors: result.errors,
          timeouts: result.timeouts,
          latency: result.latency,
        });
      },
    );
  });
}
