import type { RedisOptions } from 'ioredis';

/**
 * ioredis settings for a Redis that must never make a caller wait for it: no offline queue (a
 * command fails at once while disconnected), one try, every command bounded by `timeoutMs`, and
 * reconnects in the background. The callers answer from a fallback meanwhile.
 */
export function failFastRedisOptions(timeoutMs: number, connectionName: string): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(1_000, timeoutMs),
    commandTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    connectionName,
  };
}
