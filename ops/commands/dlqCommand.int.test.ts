import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { createTopics, deleteTopics, produceRecords } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { letters, ops, seedDeadLetters } from '../testing/opsTestKit.ts';

const original = `fleet.test-dlq-cli-${randomUUID().slice(0, 8)}.v1`;
const dlq = `${original}.dlq`;
const subject = `${original}-value`;
const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());

afterAll(async () => {
  await registry.deleteSubject(subject, { permanent: false });
  registry.close();
  await deleteTopics([original, dlq]);
});

describe('ops dlq list and inspect (real broker and registry)', () => {
  it('lists dead letters with filters and shows one in full, its Avro value decoded through the registry', async () => {
    await createTopics([
      { topic: original, partitions: 2 },
      { topic: dlq, partitions: 2 },
    ]);
    const schema = JSON.stringify({
      type: 'record',
      name: 'Probe',
      namespace: 'dev.fleetstream.test',
      fields: [
        { name: 'vehicleId', type: 'string' },
        { name: 'count', type: 'int' },
      ],
    });
    await registry.register(subject, schema, 'BACKWARD');
    const avroValue = await new AvroSerde({ source: registry }).encode(subject, {
      vehicleId: 'v-42',
      count: 3,
    });
    const seeded = letters(6, 2).map((letter, i) => (i === 0 ? { ...letter, value: avroValue } : letter));
    await seedDeadLetters(original, seeded, 2);
    // A record on the DLQ that the runtime did not write: listed, never hidden.
    await produceRecords(dlq, [{ key: 'stray', value: 'no headers', partition: 1 }]);

    const all = await ops('dlq', 'list', dlq);
    expect(all.code, all.err.join('\n')).toBe(0);
    expect(all.out[0]?.split(/\s+/).join(' ')).toBe(
      'PARTITION OFFSET DEAD_LETTERED_AT ORIGIN ERROR_CLASS ERROR_CODE ATTEMPTS KEY REPLAYED',
    );
    expect(all.out.at(-1)).toBe('7 dead letter(s)');
    expect(all.out.some((line) => line.includes('invalid headers'))).toBe(true);

    // The code column: one error class carries many codes, and the code decides what to do.
    expect(all.out.filter((line) => /\sPermanentError\s+PERMANENT\s/.test(line))).toHaveLength(2);
    const byCode = await ops('dlq', 'list', dlq, '--error-code', 'PERMANENT');
    expect(byCode.out.at(-1)).toBe('2 dead letter(s)');

    const permanent = await ops('dlq', 'list', dlq, '--error-class', 'PermanentError', '--json');
    const entries = permanent.out.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.map((e) => e.errorClass)).toEqual(['PermanentError', 'PermanentError']);
    expect(entries.every((e) => e.replayed === false)).toBe(true);

    const windowed = await ops(
      'dlq',
      'list',
      dlq,
      '--since',
      '2026-05-01T10:01:00Z',
      '--until',
      '2026-05-01T10:03:00Z',
      '--json',
    );
    expect(
      windowed.out.map((line) => (JSON.parse(line) as { originalOffset: number }).originalOffset).sort(),
    ).toEqual([101, 102]);
    const limited = await ops('dlq', 'list', dlq, '--limit', '2');
    expect(limited.out.at(-1)).toBe('2 dead letter(s); more match (raise --limit 2)');

    const inspected = await ops('dlq', 'inspect', dlq, '--partition', '0', '--offset', '0');
    expect(inspected.code, inspected.err.join('\n')).toBe(0);
    const text = inspected.out.join('\n');
    expect(text).toContain(`origin        ${original}/0/100`);
    expect(text).toContain('error         PermanentError (PERMANENT): rejected 0');
    expect(text).toContain('  correlation-id: corr-0');
    expect(text).toContain(`  base64      ${avroValue.toString('base64')}`);
    expect(text).toMatch(/ {2}avro {8}schema id \d+: \{"vehicleId":"v-42","count":3\}/);

    const json = await ops('dlq', 'inspect', dlq, '--partition', '0', '--offset', '0', '--json');
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({
      errorClass: 'PermanentError',
      key: 'vehicle-0',
      decoded: { value: { vehicleId: 'v-42', count: 3 } },
    });

    const missing = await ops('dlq', 'inspect', dlq, '--partition', '0', '--offset', '999');
    expect(missing.code, missing.err.join('\n')).toBe(1);
    expect(missing.err.join('\n')).toContain(`no record at ${dlq}/0/999 (offsets 0..2)`);
  });
});
