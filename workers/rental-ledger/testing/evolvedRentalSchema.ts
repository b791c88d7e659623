import { fileURLToPath } from 'node:url';
import type { Type as AvroType } from 'avsc';
import { readAvroSchemaFile } from '../../../schemas/avroSchemaFile.ts';
import type { RentalEvent } from '../../../schemas/generated/types.ts';
import { parseAvroType } from '../../runtime/avro/schemaRegistryClient.ts';

type Field = { name: string; type: unknown; default?: unknown };
type Branch = { name: string; fields: Field[] };

const shipped = readAvroSchemaFile(
  fileURLToPath(new URL('../../../schemas/avro/rental-events.v1.avsc', import.meta.url)),
).json;

/**
 * fleet.rental.events.v1 as a compatible next version could change it: PaymentCaptured gains an
 * optional field and PaymentPurpose a symbol (which the shipped reader reads as its default, `other`).
 */
function evolvedSchema(): Record<string, unknown> {
  const schema = structuredClone(shipped);
  const payload = (schema.fields as Field[]).find((field) => field.name === 'payload');
  const payment = ((payload?.type ?? []) as Branch[]).find((branch) => branch.name === 'PaymentCaptured');
  if (!payment) throw new Error('PaymentCaptured missing from the shipped schema');
  payment.fields.push({ name: 'installment', type: ['null', 'int'], default: null });
  const purpose = payment.fields.find((field) => field.name === 'purpose')?.type as { symbols: string[] };
  purpose.symbols.splice(purpose.symbols.length - 1, 0, 'loyalty_reward');
  return schema;
}

const types: Record<'shipped' | 'evolved', AvroType> = {
  shipped: parseAvroType(shipped),
  evolved: parseAvroType(evolvedSchema()),
};

/** `event` written with the `writer` schema and decoded with the `reader` one, resolved as the consumer's serde does. */
export function readAcrossSchemas(
  event: RentalEvent,
  writer: 'shipped' | 'evolved',
  reader: 'shipped' | 'evolved',
): RentalEvent {
  const bytes = types[writer].toBuffer(event);
  return types[reader].fromBuffer(bytes, types[reader].createResolver(types[writer])) as RentalEvent;
}
