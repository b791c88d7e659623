import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SchemaRegistryUnavailableError } from '../workers/runtime/avro/avroErrors.ts';
import type { CompatibilityLevel } from '../workers/runtime/avro/compatibilityLevel.ts';
import type { RegisteredSchemaVersion } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import type { RegisterRegistry } from './registerSubject.ts';
import { exitCodes, runSchemasCli } from './schemasCli.ts';
import { findSubjectDefinition, type SubjectDefinition } from './subjects.ts';

const events = findSubjectDefinition('fleet.reservation.events.v1-value')!;
const withFile = (name: string): SubjectDefinition => ({
  ...events,
  schemaFile: fileURLToPath(new URL(`./fixtures/reservation-events.v1.${name}.avsc`, import.meta.url)),
});

/** A registry in memory holding the events subject at version 1, unless `empty`. */
class FakeRegistry implements RegisterRegistry {
  readonly versions: RegisteredSchemaVersion[] = [];
  registryVerdict = true;
  failWith: Error | undefined;
  registerCalls = 0;

  constructor(empty = false) {
    if (!empty) {
      const text = readAvroSchemaFile(events.schemaFile).canonicalText;
      this.versions.push({ subject: events.subject, version: 1, id: 11, schema: text });
    }
  }
  async listVersions(): Promise<number[]> {
    if (this.failWith) throw this.failWith;
    return this.versions.map((v) => v.version);
  }
  async schemaVersion(_subject: string, version: number | 'latest') {
    return version === 'latest' ? this.versions.at(-1) : this.versions.find((v) => v.version === version);
  }
  async isCompatible(): Promise<boolean> {
    return this.registryVerdict;
  }
  async compatibilityLevel(): Promise<CompatibilityLevel | undefined> {
    return this.versions.length > 0 ? events.compatibility : undefined;
  }
  async register(subject: string, schema: string): Promise<number> {
    this.registerCalls += 1;
    const same = this.versions.find((v) => v.schema === schema);
    if (same) return same.id;
    const version = this.versions.length + 1;
    this.versions.push({ subject, version, id: 10 + version, schema });
    return 10 + version;
  }
}

async function run(argv: string[], registry: RegisterRegistry, subjects: SubjectDefinition[] = [events]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSchemasCli(argv, {
    registry,
    subjects,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('schemas CLI arguments', () => {
  it('explains its usage on a missing or unknown command, and exits 2', async () => {
    for (const argv of [[], ['deploy'], ['check', 'extra']]) {
      const { code, err } = await run(argv, new FakeRegistry());
      expect(code).toBe(exitCodes.usage);
      expect(err).toContain('usage: npm run schemas -- <register|check>');
    }
  });

  it('lists the known subjects when --subject names none of them', async () => {
    const { code, err } = await run(['check', '--subject', 'nope-value'], new FakeRegistry());
    expect(code).toBe(exitCodes.usage);
    expect(err).toContain('unknown subject nope-value');
    expect(err).toContain('fleet.reservation.events.v1-value');
  });
});

describe('schemas check', () => {
  it('accepts a subject that is not registered yet', async () => {
    const { code, out } = await run(['check'], new FakeRegistry(true));
    expect(code).toBe(exitCodes.ok);
    expect(out).toContain('not registered yet');
  });

  it('accepts the compatible fixture evolution', async () => {
    const { code, out } = await run(['check'], new FakeRegistry(), [withFile('compatible')]);
    expect(code).toBe(exitCodes.ok);
    expect(out).toBe('fleet.reservation.events.v1-value: compatible with version 1 at FULL_TRANSITIVE');
  });

  it('refuses a removed field, naming it, and exits 1', async () => {
    const { code, err } = await run(['check'], new FakeRegistry(), [withFile('field-removed')]);
    expect(code).toBe(exitCodes.incompatible);
    expect(err).toContain(
      'fleet.reservation.events.v1-value: field ReservationConfirmed.vehicleId removed without a default [vs version 1, FULL_TRANSITIVE]',
    );
  });

  it('refuses when only the registry objects, saying no field was found', async () => {
    const registry = new FakeRegistry();
    registry.registryVerdict = false;
    const { code, err } = await run(['check'], registry, [withFile('compatible')]);
    expect(code).toBe(exitCodes.incompatible);
    expect(err).toContain('the registry reports the schema incompatible');
  });

  it('exits 3 when the registry cannot be reached', async () => {
    const registry = new FakeRegistry();
    registry.failWith = new SchemaRegistryUnavailableError('http://registry', 'ECONNREFUSED');
    const { code, err } = await run(['check'], registry);
    expect(code).toBe(exitCodes.registryFailure);
    expect(err).toContain('ECONNREFUSED');
  });
});

describe('schemas register', () => {
  it('refuses an incompatible schema before sending it', async () => {
    const registry = new FakeRegistry();
    const { code, err } = await run(['register'], registry, [withFile('type-changed')]);
    expect(code).toBe(exitCodes.incompatible);
    expect(err).toContain(
      'ReservationConfirmed.startsAt changed type from long (timestamp-millis) to string',
    );
    expect(registry.registerCalls).toBe(0);
  });

  it('reports an unchanged schema with its existing id', async () => {
    const { code, out } = await run(['register'], new FakeRegistry());
    expect(code).toBe(exitCodes.ok);
    expect(out).toBe('fleet.reservation.events.v1-value: id 11, version 1 (unchanged, FULL_TRANSITIVE)');
  });
});
