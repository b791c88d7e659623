import { describe, expect, it } from 'vitest';
import {
  clearPending,
  decodeProgress,
  encodeProgress,
  fitsMetadata,
  freshProgress,
  isReplayed,
  markPending,
  markReplayed,
  ReplayProgressError,
} from './replayProgress.ts';

describe('replay progress', () => {
  it('starts at the log start when nothing was committed', () => {
    expect(decodeProgress(undefined, null, 40)).toEqual({ next: 40, done: [], pending: undefined });
  });

  it('moves the committed offset over contiguous replays and keeps scattered ones in `done`', () => {
    let progress = freshProgress(0);
    progress = markReplayed(progress, 2);
    progress = markReplayed(progress, 3);
    expect(progress).toEqual({ next: 0, done: [2, 3], pending: undefined });
    progress = markReplayed(progress, 0);
    expect(progress.next).toBe(1);
    progress = markReplayed(progress, 1);
    expect(progress).toEqual({ next: 4, done: [], pending: undefined });
    expect(isReplayed(progress, 3)).toBe(true);
    expect(isReplayed(progress, 4)).toBe(false);
  });

  it('round-trips through the committed offset and metadata, ranges compacted', () => {
    let progress = freshProgress(10);
    for (const offset of [12, 13, 14, 20, 22, 23]) progress = markReplayed(progress, offset);
    progress = markPending(progress, 25, {
      at: 1_700_000_000_000,
      topic: 'fleet.x.v1',
      partition: 3,
      until: 1_700_000_030_000,
    });
    const stored = encodeProgress(progress);
    expect(stored.offset).toBe(10);
    expect(JSON.parse(stored.metadata)).toEqual({
      v: 1,
      done: '12-14,20,22-23',
      pending: { o: 25, at: 1_700_000_000_000, t: 'fleet.x.v1', p: 3, u: 1_700_000_030_000 },
    });
    expect(decodeProgress(stored.offset, `${stored.metadata}\0`, 0)).toEqual(progress);
  });

  it('reads a pending send stored without its partition and deadline (older runs, or a key-picked partition)', () => {
    const older = '{"v":1,"done":"","pending":{"o":4,"at":1700000000000,"t":"fleet.x.v1"}}';
    expect(decodeProgress(4, older, 0).pending).toEqual({
      offset: 4,
      at: 1_700_000_000_000,
      topic: 'fleet.x.v1',
      partition: undefined,
      until: undefined,
    });
    const keyPicked = markPending(freshProgress(0), 4, {
      at: 1,
      topic: 'fleet.x.v1',
      partition: undefined,
      until: 2,
    });
    expect(JSON.parse(encodeProgress(keyPicked).metadata).pending).toEqual({
      o: 4,
      at: 1,
      t: 'fleet.x.v1',
      u: 2,
    });
  });

  it('clears the pending send when the record is marked replayed, or when it did not land', () => {
    const pending = markPending(freshProgress(0), 0, {
      at: 1,
      topic: 'fleet.x.v1',
      partition: 0,
      until: 2,
    });
    expect(markReplayed(pending, 0)).toEqual({ next: 1, done: [], pending: undefined });
    expect(clearPending(pending).pending).toBeUndefined();
  });

  it('skips records deleted by retention: nothing below the log start waits', () => {
    const stored = encodeProgress({ next: 5, done: [7, 9, 12], pending: undefined });
    expect(decodeProgress(stored.offset, stored.metadata, 10)).toEqual({
      next: 10,
      done: [12],
      pending: undefined,
    });
  });

  it('reads a plain committed offset (no metadata) as "everything below was replayed"', () => {
    expect(decodeProgress(7, '', 0)).toEqual({ next: 7, done: [], pending: undefined });
  });

  it('refuses metadata it does not understand instead of replaying again', () => {
    expect(() => decodeProgress(3, 'not json', 0)).toThrow(ReplayProgressError);
    expect(() => decodeProgress(3, '{"v":2,"done":""}', 0)).toThrow(/unknown format/);
    expect(() => decodeProgress(3, '{"v":1,"done":"9-4"}', 0)).toThrow(/malformed range/);
    expect(() => decodeProgress(3, '{"v":1,"done":"","pending":{"o":"x"}}', 0)).toThrow(/pending/);
    expect(() =>
      decodeProgress(3, '{"v":1,"done":"","pending":{"o":3,"at":1,"t":"fleet.x.v1","p":"0"}}', 0),
    ).toThrow(/pending/);
  });

  it('knows when the metadata would outgrow the broker limit', () => {
    let progress = freshProgress(0);
    for (let offset = 1; offset < 600; offset += 2) progress = markReplayed(progress, offset);
    expect(fitsMetadata(progress)).toBe(true);
    for (let offset = 601; offset < 3000; offset += 2) progress = markReplayed(progress, offset);
    expect(fitsMetadata(progress)).toBe(false);
  });
});
