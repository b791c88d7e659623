import fs from 'node:fs';
import path from 'node:path';

/** A shell block of a runbook that a test executes. */
export interface RunnableBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  script: string;
  /** Exit codes that count as success (default [0]). */
  allowedExitCodes: number[];
}

const fence = /^```(?:sh|bash) runnable(?: exit=([\d,]+))?\s*$/;

/** Extracts every ` ```sh runnable ` block of a markdown text. */
export function runnableBlocksOf(markdown: string, file: string): RunnableBlock[] {
  const lines = markdown.split('\n');
  const blocks: RunnableBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = fence.exec(lines[i]!);
    if (!match) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: runnable block is not closed`);
    blocks.push({
      file,
      line: start + 1,
      script: body.join('\n'),
      allowedExitCodes: match[1] ? match[1].split(',').map(Number) : [0],
    });
  }
  return blocks;
}

/** Every runnable block of every runbook in `dir`. */
export function runbookBlocks(dir: string): RunnableBlock[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .flatMap((f) => runnableBlocksOf(fs.readFileSync(path.join(dir, f), 'utf8'), f));
}
