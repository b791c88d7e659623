import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SchemaRegistryClient } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../workers/runtime/avro/schemaRegistryConfig.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import { exitCodes, runSchemasCli } from './schemasCli.ts';
import { findSubjectDefinition, type SubjectDefinition, subjectDefinitions } from './subjects.ts';

// Against the real registry, under random subject names that are deleted afterwards.
const client = new SchemaRegistryClient(loadSchemaRegistryConfig());
// Soft deletes only: a permanent delete in Apicurio 3.0.9 can break a subject that another
// test (or another project's test) is creating at the same moment (see deleteSubject()).
const SOFT = { permanent: false } as const;
const created = new Set<string>();

afterEach(async () => {
  for (const subject of created) await client.deleteSubject(subject, SOFT);
  created.clear();
});
afterAll(() => client.close());

function renamed(definitions: readonly SubjectDefinition[]): SubjectDefinition[] {
  const prefix = `it-${randomUUID().slice(0, 8)}-`;
  return definitions.map((d) => {
    created.add(prefix + d.subject);
    return { ...d, subject: prefix + d.subject };
  });
}

function withFixture(definition: SubjectDefinition, name: string): SubjectDefinition {
  return {
    ...definition,
    schemaFile: fileURLToPath(new URL(`./fixtures/reservation-events.v1.${name}.avsc`, import.meta.url)),
  };
}

async function cli(argv: string[], subjects: readonly SubjectDefinition[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSchemasCli(argv, {
    registry: client,
    subjects,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err: err.join('\n') };
}

/** subject → id, from `register` output lines "<subject>: id N, version V (...)". */
function idsOf(lines: readonly string[]): Map<string, number> {
  return new Map(
    lines.map((line) => {
      const match = /^(\S+): id (\d+), version \d+ \((registered|unchanged), /.exec(line);
      if (!match) throw new Error(`unexpected register output: ${line}`);
      return [match[1]!, Number(match[2])];
    }),
  );
}

const events = findSubjectDefinition('fleet.reservation.events.v1-value')!;

describe('npm run schemas -- register (real registry)', () => {
  it('is idempotent: registering twice returns the same ids and adds no version', async () => {
    const subjects = renamed(subjectDefinitions);
    const first = await cli(['register'], subjects);
    expect(first.err).toBe('');
    expect(first.code).toBe(exitCodes.ok);
    const second = await cli(['register'], subjects);
    expect(second.code).toBe(exitCodes.ok);
    expect(idsOf(second.out)).toEqual(idsOf(first.out));
    expect(second.out.every((line) => line.includes('(unchanged, '))).toBe(true);
    for (const definition of subjects) {
      expect(await client.listVersions(definition.subject)).toEqual([1]);
      expect(await client.compatibilityLevel(definition.subject)).toBe(definition.compatibility);
      expect(await client.latestSchemaId(definition.subject)).toBe(idsOf(first.out).get(definition.subject));
      const registered = await client.schemaVersion(definition.subject, 'latest');
      expect(registered?.schema).toBe(readAvroSchemaFile(definition.schemaFile).canonicalText);
    }
  });

  it('refuses a rollback to the exact text of an older version, which the registry would ignore, and exits 1', async () => {
    const [subject] = renamed([events]);
    const first = await cli(['register'], [subject!]);
    const second = await cli(['register'], [withFixture(subject!, 'compatible')]);
    expect([first.code, second.code]).toEqual([exitCodes.ok, exitCodes.ok]);
    const v1 = idsOf(first.out).get(subject!.subject);
    const v2 = idsOf(second.out).get(subject!.subject);

    const rollback = await cli(['register'], [subject!]);
    expect(rollback.code).toBe(exitCodes.incompatible);
    expect(rollback.out).toEqual([]);
    expect(rollback.err).toContain(`identical to version 1 (id ${v1})`);
    expect(rollback.err).toContain(`the latest version 2 (id ${v2}) is unchanged`);
    expect(rollback.err).toContain('A rollback needs a new text');
    expect(await client.listVersions(subject!.subject)).toEqual([1, 2]);
    expect(await client.latestSchemaId(subject!.subject)).toBe(v2);
  });
});

describe('npm run schemas -- check (real registry)', () => {
  it('accepts a subject that is not registered yet', async () => {
    const [subject] = renamed([events]);
    const result = await cli(['check'], [subject!]);
    expect(result.code).toBe(exitCodes.ok);
    expect(result.out.join('\n')).toContain('not registered yet');
  });

  it('accepts the compatible fixture, refuses the incompatible ones naming the field, as the registry does', async () => {
    const [registered] = renamed([events]);
    expect((await cli(['register'], [registered!])).code).toBe(exitCodes.ok);

    const compatible = await cli(['check'], [withFixture(registered!, 'compatible')]);
    expect(compatible.err).toBe('');
    expect(compatible.code).toBe(exitCodes.ok);
    expect(compatible.out).toEqual([`${registered!.subject}: compatible with version 1 at FULL_TRANSITIVE`]);

    const removed = await cli(['check'], [withFixture(registered!, 'field-removed')]);
    expect(removed.code).toBe(exitCodes.incompatible);
    expect(removed.err).toContain(
      `${registered!.subject}: field ReservationConfirmed.vehicleId removed without a default [vs version 1, FULL_TRANSITIVE]`,
    );

    const retyped = await cli(['check'], [withFixture(registered!, 'type-changed')]);
    expect(retyped.code).toBe(exitCodes.incompatible);
    expect(retyped.err).toContain(
      'ReservationConfirmed.startsAt changed type from long (timestamp-millis) to string',
    );

    // The registry agrees with the local verdicts.
    for (const [fixture, verdict] of [
      ['compatible', true],
      ['field-removed', false],
      ['type-changed', false],
    ] as const) {
      const text = readAvroSchemaFile(withFixture(registered!, fixture).schemaFile).canonicalText;
      expect(await client.isCompatible(registered!.subject, text, 'all'), fixture).toBe(verdict);
    }
  });

  it('checks against every version at a transitive level, and register refuses what check refuses', async () => {
    const [subject] = renamed([events]);
    expect((await cli(['register'], [subject!])).code).toBe(exitCodes.ok);
    const evolved = withFixture(subject!, 'compatible');
    const registered = await cli(['register'], [evolved]);
    expect(registered.code).toBe(exitCodes.ok);
    expect(registered.out[0]).toMatch(/version 2 \(registered, FULL_TRANSITIVE\)$/);

    const refused = await cli(['register'], [withFixture(subject!, 'field-removed')]);
    expect(refused.code).toBe(exitCodes.incompatible);
    expect(refused.err).toContain(
      'field ReservationConfirmed.vehicleId removed without a default [vs versions 1, 2',
    );
    expect(await client.listVersions(subject!.subject)).toEqual([1, 2]);
  });
});
