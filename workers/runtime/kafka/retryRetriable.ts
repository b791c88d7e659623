import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClientError, toKafkaClientError } from './librdkafkaErrors.ts';

/** Delays before the second and third attempt of a retriable admin read. */
const backoffMs = [300, 1000];

/**
 * Runs an admin read, trying again (twice, with backoff) when it failed retriably — a leader or
 * coordinator moving, a broker restarting — so a one-off hiccup does not fail an operator's
 * command. A non-retriable failure, or the last one, is thrown as a KafkaClientError saying `what`.
 */
export async function retryRetriable<T>(what: string, read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      const typed = toKafkaClientError(error, what, KafkaClientError);
      const delay = backoffMs[attempt];
      if (!typed.retriable || delay === undefined) throw typed;
      await sleep(delay);
    }
  }
}
