/**
 * Reads a P5 samples file (BENCH_P5_SAMPLES, one JSON object per decided request) and prints the
 * run as a timeline: per bin of send time, how many requests and the slowest wait of each leg of
 * the path. A p99 made of a steady queue shows every bin slow; one made of stalls shows a few bins
 * whose every leg is slow at once (the machine, not one stage).
 *
 *   npm run -s bench:timeline -- <samples.jsonl> [binMs=500]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nearestRankPercentile } from './percentile.ts';

/** One decided request as the P5 bench writes it (epoch ms, one wall clock). */
export interface DecidedSample {
  sentAt: number;
  answeredAt: number;
  occurredAt: number;
  /** The decision event's CreateTime: the settler's produce call, after its commit (whole ms). */
  producedAt: number;
  /** When the bench read the event; only with a live watcher (BENCH_P5_WATCH=live). */
  seenAt?: number;
}

/**
 * When the request was settled: the end of the CreateTime's millisecond (the record timestamp
 * is truncated to whole ms, so this never makes a latency look shorter than it was).
 */
export function settledAt(sample: DecidedSample): number {
  return sample.producedAt + 1;
}

/** What P5 reports: from the 202 at the client to the settlement. */
export function acceptedToSettledMs(sample: DecidedSample): number {
  return settledAt(sample) - sample.answeredAt;
}

/** The slowest wait (ms) of each leg among the requests sent in one bin. */
export interface TimelineBin {
  /** Start of the bin, ms after the first request was sent. */
  offsetMs: number;
  requests: number;
  /** send → 202 (the ingress). */
  ingressMaxMs: number;
  /** 202 → occurredAt (delivery to the settler, queueing). */
  toDecisionMaxMs: number;
  /** occurredAt → produce call (the settlement transaction). */
  toProduceMaxMs: number;
  /** produce call → read (broker append, our fetch); NaN without a live watcher. */
  afterProduceMaxMs: number;
  /** 202 → settled: what P5 reports. */
  acceptedToSettledP99Ms: number;
  acceptedToSettledMaxMs: number;
}

/** Groups samples into bins of `binMs` by send time; empty bins are left out. */
export function latencyTimeline(samples: readonly DecidedSample[], binMs: number): TimelineBin[] {
  if (!(binMs > 0)) throw new RangeError(`binMs must be positive, got ${binMs}`);
  if (samples.length === 0) return [];
  const start = Math.min(...samples.map((s) => s.sentAt));
  const bins = new Map<number, DecidedSample[]>();
  for (const sample of samples) {
    const index = Math.floor((sample.sentAt - start) / binMs);
    const bin = bins.get(index) ?? [];
    bin.push(sample);
    bins.set(index, bin);
  }
  const maxOf = (bin: DecidedSample[], leg: (s: DecidedSample) => number) => Math.max(...bin.map(leg));
  return [...bins.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, bin]) => {
      const acceptedToSettled = bin.map(acceptedToSettledMs).sort((a, b) => a - b);
      return {
        offsetMs: index * binMs,
        requests: bin.length,
        ingressMaxMs: maxOf(bin, (s) => s.answeredAt - s.sentAt),
        toDecisionMaxMs: maxOf(bin, (s) => s.occurredAt - s.answeredAt),
        toProduceMaxMs: maxOf(bin, (s) => s.producedAt - s.occurredAt),
        afterProduceMaxMs: maxOf(bin, (s) => (s.seenAt ?? Number.NaN) - s.producedAt),
        acceptedToSettledP99Ms: nearestRankPercentile(acceptedToSettled, 0.99),
        acceptedToSettledMaxMs: acceptedToSettled.at(-1)!,
      };
    });
}

function main(argv: string[]): void {
  const [file, binArg] = argv;
  if (!file) {
    process.stderr.write('usage: npm run -s bench:timeline -- <samples.jsonl> [binMs=500]\n');
    process.exit(64);
  }
  const binMs = binArg === undefined ? 500 : Number(binArg);
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DecidedSample);
  const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1)).padStart(8);
  const rows = latencyTimeline(samples, binMs).map(
    (bin) =>
      `${(bin.offsetMs / 1000).toFixed(1).padStart(7)} ${String(bin.requests).padStart(5)} ` +
      `${ms(bin.ingressMaxMs)} ${ms(bin.toDecisionMaxMs)} ${ms(bin.toProduceMaxMs)} ${ms(bin.afterProduceMaxMs)}  ` +
      `${ms(bin.acceptedToSettledP99Ms)} / ${ms(bin.acceptedToSettledMaxMs).trim()}`,
  );
  // Slowest wait of each leg per bin (prod→read only from a live watcher); the last column is the
  // bin's own 202 → settled p99 and max.
  const header = '   at s  reqs  send→202  202→occ  occ→prod  prod→read  202→settled p99 / max';
  process.stdout.write(`${[header, ...rows].join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
