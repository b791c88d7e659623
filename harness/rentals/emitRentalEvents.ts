import type { OpsConfig } from '../../ops/opsConfig.ts';
import type { RentalEvent } from '../../schemas/generated/types.ts';
import { rentalIdOf, rentalLife } from '../../workers/rental-ledger/testing/rentalEvents.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { FleetProducer } from '../../workers/runtime/producer/fleetProducer.ts';

/** What one run wrote, for the printout and for checking the ledger against it. */
export interface EmittedRentals {
  events: number;
  /** Captured minus refunded, in EUR minor units: what the clearing account gains. */
  netMinor: number;
}

/**
 * Plays upstream for the local fleet: writes `rentals` rental lives (start, charge, deposit, end,
 * deposit refund, a partial refund) to `topic`, Avro through the registry, keyed by rental id, and
 * resolves once the broker acknowledged every event.
 */
export async function emitRentalEvents(
  config: Pick<OpsConfig, 'client' | 'producer' | 'registry'>,
  topic: string,
  rentals: number,
): Promise<EmittedRentals> {
  const registry = new SchemaRegistryClient(config.registry);
  const serde = new AvroSerde({ source: registry });
  const producer = new FleetProducer({
    client: { ...config.client, clientId: `rental-events-${process.pid}` },
    settings: config.producer,
    encoder: (target, value) => serde.encode(`${target}-value` as never, value as never),
  });
  await producer.start();
  try {
    let events = 0;
    let netMinor = 0;
    for (let i = 0; i < rentals; i++) {
      const charge = 4_900 + 100 * (i % 50);
      const refund = 100 * (1 + (i % 7));
      const life: RentalEvent[] = rentalLife(charge, refund, `customer-${i % 20}`);
      // One rental's events in order (a refund after its payment), each acknowledged before the next.
      for (const event of life) await producer.send(topic, { key: rentalIdOf(event), value: event });
      events += life.length;
      netMinor += charge - refund;
    }
    return { events, netMinor };
  } finally {
    await producer.stop();
    registry.close();
  }
}
