import type { DlqRecord } from './dlqRecord.ts';

/** Which dead letters a command selects; every given criterion must hold. */
export interface DlqFilter {
  /** Dead-lettered at or after (ms since epoch). */
  since?: number;
  /** Dead-lettered before (ms since epoch). */
  until?: number;
  /** The `fleet.dlq.error-class` header equals this. */
  errorClass?: string;
  /** The `fleet.dlq.error-code` header equals this (one class carries many codes, e.g. LedgerRefusalError). */
  errorCode?: string;
  /** The record key, as UTF-8, equals this. */
  key?: string;
}

/** Whether any criterion is set. */
export function isFiltered(filter: DlqFilter): boolean {
  return Object.values(filter).some((v) => v !== undefined);
}

/**
 * Whether a dead letter is selected. Time is the `fleet.dlq.dead-lettered-at` header, or the
 * record timestamp when the headers are unreadable; a record with unreadable headers never
 * matches an error-class or error-code criterion (it has none).
 */
export function matchesFilter(record: DlqRecord, filter: DlqFilter): boolean {
  const time = record.info?.deadLetteredAt.getTime() ?? record.timestamp;
  if (filter.since !== undefined && time < filter.since) return false;
  if (filter.until !== undefined && time >= filter.until) return false;
  if (filter.errorClass !== undefined && record.info?.errorClass !== filter.errorClass) return false;
  if (filter.errorCode !== undefined && record.info?.errorCode !== filter.errorCode) return false;
  if (filter.key !== undefined && (record.key === null || record.key.toString('utf8') !== filter.key))
    return false;
  return true;
}
