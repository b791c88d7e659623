import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../stack/stackConfig.ts';

/** One measured ratio, printed as `<ID> <name>: <value> <unit> (<ratio>x of <baseline>)` (BRIEF §4). */
export interface BenchLine {
  id: string;
  name: string;
  value: number;
  unit: string;
  ratio?: number;
  baseline?: string;
  /** Extra detail printed after the line (not part of the contract format). */
  note?: string;
}

/** Formats a benchmark line in the contract format. */
export function formatBenchLine(line: BenchLine): string {
  const value = line.value >= 100 ? Math.round(line.value).toString() : line.value.toFixed(2);
  const ratio =
    line.ratio !== undefined && line.baseline ? ` (${line.ratio.toFixed(2)}x of ${line.baseline})` : '';
  return `${line.id} ${line.name}: ${value} ${line.unit}${ratio}`;
}

/** The machine, as a report's header line. */
export function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  let kernel = os.release();
  try {
    kernel = execFileSync('uname', ['-sr']).toString().trim();
  } catch {
    // uname is missing only on exotic systems; os.release() is enough then.
  }
  return `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${kernel}, Node ${process.version}`;
}

/** A report's time, `YYYY-MM-DD HH:MM` (UTC), as section titles print it. */
export function reportTime(at: Date = new Date()): string {
  return at.toISOString().slice(0, 16).replace('T', ' ');
}

/** The same time for a file name: `YYYY-MM-DDTHHMM`. */
export function reportStamp(at: Date = new Date()): string {
  return at.toISOString().slice(0, 16).replace(':', '');
}

/** Appends a dated section with the lines and the command to docs/benchmarks.md. */
export function appendBenchReport(
  title: string,
  command: string,
  lines: BenchLine[],
  notes: string[] = [],
): void {
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      '# Benchmarks\n\nEach section is appended by a benchmark run: date, machine, command, summary lines.\n',
    );
  }
  const section = [
    '',
    `## ${title} — ${reportTime()} UTC`,
    '',
    `- Machine: ${describeMachine()}`,
    `- Command: \`${command}\``,
    '',
    '```',
    ...lines.map(formatBenchLine),
    '```',
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  fs.appendFileSync(file, section);
}
