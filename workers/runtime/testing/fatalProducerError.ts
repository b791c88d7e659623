import type { FleetProducer } from '../producer/fleetProducer.ts';

/**
 * Test helper: has `producer`'s client report a fatal error, as librdkafka does when, say, an
 * idempotent sequence cannot be repaired (a real one cannot be provoked on demand). Not for
 * production code.
 */
export function reportFatalClientError(producer: FleetProducer): void {
  const client = (producer as unknown as { producer: NodeJS.EventEmitter | undefined }).producer;
  if (!client) throw new Error('the producer has no client: start() it first');
  client.emit('event.error', { message: 'Local: Fatal error', code: -150, isFatal: true });
}
