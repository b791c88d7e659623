import { afterAll, describe, expect, it } from 'vitest';
import { loadOpsConfig } from '../../ops/opsConfig.ts';
import type { RentalEvent } from '../../schemas/generated/types.ts';
import { toLedgerEvent } from '../../workers/rental-ledger/ledgerEvent.ts';
import { consumedRentalEvent, rentalIdOf } from '../../workers/rental-ledger/testing/rentalEvents.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import {
  createTopics,
  deleteTopics,
  readAll,
  uniqueName,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import { registerContractSchema } from '../../workers/runtime/testing/schemaTestKit.ts';
import { emitRentalEvents } from './emitRentalEvents.ts';

const config = loadOpsConfig(process.env);
const registry = new SchemaRegistryClient(config.registry);
const topic = uniqueName('rentals');
let subject: string | undefined;

afterAll(async () => {
  await deleteTopics([topic]);
  if (subject) await registry.deleteSubject(subject).catch(() => undefined);
  registry.close();
});

describe('npm run rentals (upstream for the local ledger)', () => {
  it('writes whole rental lives, Avro in the wire format, each event keyed by its rental', async () => {
    await createTopics([{ topic, partitions: 3 }]);
    subject = await registerContractSchema(registry, topic, 'fleet.rental.events.v1-value');
    const emitted = await emitRentalEvents(config, topic, 3);
    expect(emitted).toEqual({ events: 18, netMinor: 4_900 - 100 + (5_000 - 200) + (5_100 - 300) });

    const records = await readAll(topic, 18, 20_000);
    expect(records).toHaveLength(18);
    const serde = new AvroSerde({ source: registry });
    const types = new Map<string, string[]>();
    for (const record of records) {
      const event = (await serde.decode(record.value!)) as RentalEvent;
      expect(record.key).toBe(rentalIdOf(event));
      // Every event is one the ledger accepts (no zero refund, a valid currency, keyed right).
      expect(() => toLedgerEvent(consumedRentalEvent(event))).not.toThrow();
      const type = Object.keys(event.payload)[0]!.replace('dev.fleetstream.rental.', '');
      types.set(record.key!, [...(types.get(record.key!) ?? []), type]);
    }
    // Per rental (one partition each), in the order upstream wrote them.
    for (const sequence of types.values()) {
      expect(sequence).toEqual([
        'RentalStarted',
        'PaymentCaptured',
        'PaymentCaptured',
        'RentalEnded',
        'RefundIssued',
        'RefundIssued',
      ]);
    }
  });
});
