import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runbookBlocks, runnableBlocksOf } from './runnableBlocks.ts';

describe('runnableBlocksOf', () => {
  it('takes only blocks marked runnable, with their allowed exit codes', () => {
    const md = [
      '# T',
      '```sh',
      'echo example',
      '```',
      '```sh runnable',
      'echo a',
      'echo b',
      '```',
      '```sh runnable exit=0,2',
      'false',
      '```',
    ].join('\n');
    expect(runnableBlocksOf(md, 't.md')).toEqual([
      { file: 't.md', line: 5, script: 'echo a\necho b', allowedExitCodes: [0] },
      { file: 't.md', line: 9, script: 'false', allowedExitCodes: [0, 2] },
    ]);
  });

  it('refuses an unclosed block', () => {
    expect(() => runnableBlocksOf('```sh runnable\necho', 'bad.md')).toThrow(/not closed/);
  });

  it('finds runnable commands in every runbook', () => {
    const blocks = runbookBlocks(fileURLToPath(new URL('.', import.meta.url)));
    const files = new Set(blocks.map((b) => b.file));
    for (const runbook of [
      'kafka-lag-mitigation.md',
      'dlq-triage-and-replay.md',
      'circuit-breaker-recovery.md',
      'incident-response.md',
      'performance-tuning.md',
    ]) {
      expect(files.has(runbook), runbook).toBe(true);
    }
  });
});
