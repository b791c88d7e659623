import type { CompatibilityDirection } from '../workers/runtime/avro/compatibilityLevel.ts';

/**
 * Field-level Avro compatibility: can data written with one schema be read with another,
 * following the Avro specification's schema resolution rules, and if not, which field breaks
 * it. The registry only answers yes or no; this names the field so `schemas check` can say
 * "field ReservationConfirmed.vehicleId removed without a default".
 *
 * Messages describe the change from the old schema to the new one, whichever side reads.
 */

/** One reason why a schema change breaks readers. */
export interface Incompatibility {
  /** Where: `Record.field`, or a record/enum name. */
  path: string;
  /** What changed, phrased as a change from old to new. */
  message: string;
}

type Json = Record<string, unknown>;

type Node =
  | { kind: 'primitive'; name: string; logicalType: string | undefined }
  | { kind: 'record'; fullName: string; shortName: string; aliases: string[]; fields: FieldNode[] }
  | {
      kind: 'enum';
      fullName: string;
      shortName: string;
      aliases: string[];
      symbols: string[];
      default: string | undefined;
    }
  | {
      kind: 'fixed';
      fullName: string;
      shortName: string;
      aliases: string[];
      size: number;
      logicalType: string | undefined;
    }
  | { kind: 'array'; items: Node }
  | { kind: 'map'; values: Node }
  | { kind: 'union'; branches: Node[] };

interface FieldNode {
  name: string;
  aliases: string[];
  type: Node;
  hasDefault: boolean;
}

const primitives = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

// Writer type → reader types it may be promoted to (Avro specification, "Schema Resolution").
const promotions: Record<string, readonly string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

/**
 * Everything that stops one side from reading the other: `backward` checks that the new schema
 * reads data written with the old one, `forward` that the old schema reads data written with
 * the new one.
 */
export function findIncompatibilities(
  oldSchema: unknown,
  newSchema: unknown,
  direction: CompatibilityDirection,
): Incompatibility[] {
  const oldNode = parseSchema(oldSchema);
  const newNode = parseSchema(newSchema);
  const checker = new ReadChecker(direction);
  if (direction === 'backward') checker.check(newNode, oldNode, rootPath(newNode));
  else checker.check(oldNode, newNode, rootPath(oldNode));
  return checker.found;
}

class ReadChecker {
  readonly found: Incompatibility[] = [];
  private readonly direction: CompatibilityDirection;
  private readonly inProgress = new Set<string>();

  constructor(direction: CompatibilityDirection) {
    this.direction = direction;
  }

  /** Reports why `reader` cannot read what `writer` wrote, at `path`. */
  check(reader: Node, writer: Node, path: string): void {
    if (writer.kind === 'union') {
      for (const branch of writer.branches) {
        const target = reader.kind === 'union' ? reader.branches.find((r) => matches(r, branch)) : reader;
        if (target === undefined || !matches(target, branch)) {
          this.report(
            path,
            this.direction === 'backward'
              ? `${label(branch)} removed from the union at ${path}: data written with it can no longer be read`
              : `${label(branch)} added to the union at ${path}: readers of the old schema cannot read it`,
          );
        } else {
          this.check(target, branch, path);
        }
      }
      return;
    }
    if (reader.kind === 'union') {
      const target = reader.branches.find((r) => matches(r, writer));
      if (target === undefined) this.typeChanged(path, reader, writer);
      else this.check(target, writer, path);
      return;
    }
    if (!matches(reader, writer)) {
      this.typeChanged(path, reader, writer);
      return;
    }
    switch (reader.kind) {
      case 'record':
        this.checkRecord(reader, writer as Extract<Node, { kind: 'record' }>);
        return;
      case 'enum':
        this.checkEnum(reader, writer as Extract<Node, { kind: 'enum' }>);
        return;
      case 'array':
        this.check(reader.items, (writer as Extract<Node, { kind: 'array' }>).items, `${path}[]`);
        return;
      case 'map':
        this.check(reader.values, (writer as Extract<Node, { kind: 'map' }>).values, `${path}{}`);
        return;
      case 'primitive':
      case 'fixed': {
        const writerLogical = (writer as { logicalType?: string }).logicalType;
        // The spec resolves on the underlying type, but millis read as micros is silently wrong data.
        if (reader.logicalType && writerLogical && reader.logicalType !== writerLogical) {
          const [oldType, newType] = this.oldNew(reader, writer);
          this.report(path, `${path} changed logical type from ${label(oldType)} to ${label(newType)}`);
        }
        return;
      }
    }
  }

  private checkRecord(
    reader: Extract<Node, { kind: 'record' }>,
    writer: Extract<Node, { kind: 'record' }>,
  ): void {
    const key = `${reader.fullName}<-${writer.fullName}`;
    if (this.inProgress.has(key)) return; // recursive types: this pair is already being checked
    this.inProgress.add(key);
    for (const field of reader.fields) {
      const fieldPath = `${reader.shortName}.${field.name}`;
      const source = writer.fields.find((w) => w.name === field.name || field.aliases.includes(w.name));
      if (source !== undefined) {
        this.check(field.type, source.type, fieldPath);
      } else if (!field.hasDefault) {
        this.report(
          fieldPath,
          this.direction === 'backward'
            ? `field ${fieldPath} added without a default`
            : `field ${fieldPath} removed without a default`,
        );
      }
    }
    this.inProgress.delete(key);
  }

  private checkEnum(reader: Extract<Node, { kind: 'enum' }>, writer: Extract<Node, { kind: 'enum' }>): void {
    if (reader.default !== undefined) return; // unknown symbols read as the default
    for (const symbol of writer.symbols) {
      if (reader.symbols.includes(symbol)) continue;
      this.report(
        reader.shortName,
        this.direction === 'backward'
          ? `enum ${reader.shortName} symbol '${symbol}' removed without a default symbol`
          : `enum ${reader.shortName} symbol '${symbol}' added, but the old enum has no default symbol to read it as`,
      );
    }
  }

  private typeChanged(path: string, reader: Node, writer: Node): void {
    const [oldType, newType] = this.oldNew(reader, writer);
    this.report(path, `${path} changed type from ${label(oldType)} to ${label(newType)}`);
  }

  private oldNew(reader: Node, writer: Node): [Node, Node] {
    return this.direction === 'backward' ? [writer, reader] : [reader, writer];
  }

  private report(path: string, message: string): void {
    if (!this.found.some((f) => f.message === message)) this.found.push({ path, message });
  }
}

/** Whether `reader` can read `writer` at this level (names, sizes, promotions); fields are checked separately. */
function matches(reader: Node, writer: Node): boolean {
  if (reader.kind === 'primitive' && writer.kind === 'primitive') {
    return reader.name === writer.name || (promotions[writer.name] ?? []).includes(reader.name);
  }
  if (reader.kind !== writer.kind) return false;
  switch (reader.kind) {
    case 'record':
    case 'enum':
    case 'fixed': {
      const w = writer as { shortName: string; fullName: string; size?: number };
      const sameName =
        reader.fullName === w.fullName ||
        reader.shortName === w.shortName ||
        reader.aliases.includes(w.fullName);
      return sameName && (reader.kind !== 'fixed' || reader.size === w.size);
    }
    default:
      return true;
  }
}

function label(node: Node): string {
  switch (node.kind) {
    case 'primitive':
      return node.logicalType ? `${node.name} (${node.logicalType})` : node.name;
    case 'record':
    case 'enum':
    case 'fixed':
      return node.shortName;
    case 'array':
      return `array<${label(node.items)}>`;
    case 'map':
      return `map<${label(node.values)}>`;
    case 'union':
      return `[${node.branches.map(label).join(', ')}]`;
  }
}

function rootPath(node: Node): string {
  return 'shortName' in node ? node.shortName : label(node);
}

/** Turns schema JSON into a tree with named references resolved (a record may refer to itself). */
function parseSchema(schema: unknown): Node {
  const named = new Map<string, Node>();
  const parse = (value: unknown, namespace: string): Node => {
    if (typeof value === 'string') {
      if (primitives.has(value)) return { kind: 'primitive', name: value, logicalType: undefined };
      const found = named.get(qualify(value, namespace)) ?? named.get(value);
      if (found === undefined) throw new Error(`unknown Avro type ${value}`);
      return found;
    }
    if (Array.isArray(value)) return { kind: 'union', branches: value.map((b) => parse(b, namespace)) };
    if (typeof value !== 'object' || value === null)
      throw new Error(`not an Avro schema: ${JSON.stringify(value)}`);
    const json = value as Json;
    const type = json.type;
    const logicalType = typeof json.logicalType === 'string' ? json.logicalType : undefined;
    if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
      const fullName = qualify(
        String(json.name),
        typeof json.namespace === 'string' ? json.namespace : namespace,
      );
      const shortName = fullName.slice(fullName.lastIndexOf('.') + 1);
      const inner = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '';
      const aliases = Array.isArray(json.aliases) ? json.aliases.map((a) => qualify(String(a), inner)) : [];
      if (type === 'enum') {
        const node: Node = {
          kind: 'enum',
          fullName,
          shortName,
          aliases,
          symbols: (json.symbols as string[]) ?? [],
          default: typeof json.default === 'string' ? json.default : undefined,
        };
        named.set(fullName, node);
        return node;
      }
      if (type === 'fixed') {
        const node: Node = {
          kind: 'fixed',
          fullName,
          shortName,
          aliases,
          size: Number(json.size),
          logicalType,
        };
        named.set(fullName, node);
        return node;
      }
      const record: Extract<Node, { kind: 'record' }> = {
        kind: 'record',
        fullName,
        shortName,
        aliases,
        fields: [],
      };
      named.set(fullName, record); // before the fields, so they may refer to the record itself
      for (const field of (json.fields as Json[]) ?? []) {
        record.fields.push({
          name: String(field.name),
          aliases: Array.isArray(field.aliases) ? field.aliases.map(String) : [],
          type: parse(field.type, inner),
          hasDefault: Object.hasOwn(field, 'default'),
        });
      }
      return record;
    }
    if (type === 'array') return { kind: 'array', items: parse(json.items, namespace) };
    if (type === 'map') return { kind: 'map', values: parse(json.values, namespace) };
    if (typeof type === 'string' && primitives.has(type))
      return { kind: 'primitive', name: type, logicalType };
    return parse(type, namespace);
  };
  return parse(schema, '');
}

function qualify(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}
