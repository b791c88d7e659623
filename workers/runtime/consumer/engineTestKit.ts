import { setTimeout as sleep } from 'node:timers/promises';
import { EnvReader } from '../config/envReader.ts';
import type { MessageHandler } from './consumedMessage.ts';
import { ConsumerEngine, type ConsumerEngineDeps, type EngineLogger } from './consumerEngine.ts';
import { type ConsumerOptions, readConsumerOptions } from './consumerOptions.ts';

/** Test helpers for the consumer engine, against the real broker or a fake client. Not for production code. */

/** Polls `predicate` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A logger that drops everything but ERROR lines, whose messages it appends to `errors`. */
export function recordingLogger(errors: string[]): EngineLogger {
  return {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (_fields, message) => errors.push(message),
  };
}

/** What a test engine consumes and how it handles it. */
export interface TestWorker {
  name: string;
  groupId: string;
  topic: string;
  handler: MessageHandler<Buffer | null>;
  /** Default: the raw bytes as they are. */
  decoder?: (value: Buffer | null) => Buffer | null | Promise<Buffer | null>;
}

/**
 * An engine on one topic of raw bytes, committing every 100 ms. Dead-lettering throws unless
 * `deps.deadLetters` says otherwise, so a test that expects none fails loudly on one.
 */
export function testEngine(
  worker: TestWorker,
  options: Partial<ConsumerOptions> = {},
  deps: Partial<ConsumerEngineDeps> = {},
): ConsumerEngine<Buffer | null> {
  return new ConsumerEngine<Buffer | null>(
    {
      name: worker.name,
      groupId: worker.groupId,
      topics: [worker.topic],
      decoder: worker.decoder ?? ((value) => value),
      handler: worker.handler,
    },
    {
      bootstrapServers: 'unused:9092',
      deadLetters: {
        publish: async () => {
          throw new Error('nothing may be dead-lettered here');
        },
      },
      ...deps,
      options: readConsumerOptions(new EnvReader({}), { commitIntervalMs: 100, ...options }),
    },
  );
}
