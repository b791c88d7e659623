import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { catalogSchema, type TopicCatalog } from './catalogSchema.ts';
import { CatalogError, type CatalogProblem } from './topicsErrors.ts';

/** The catalog shipped with the fleet. */
export const defaultCatalogFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'catalog.yaml');

/** Reads and validates a YAML catalog file; throws CatalogError listing every problem. */
export function loadTopicCatalog(file: string = defaultCatalogFile): TopicCatalog {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CatalogError(file, [
      { where: '', message: `cannot read the file: ${(error as Error).message}` },
    ]);
  }
  return parseTopicCatalogYaml(text, file);
}

/** Partitions of a topic of the shipped catalog; throws when the catalog does not declare it. */
export function shippedPartitions(topicName: string): number {
  const topic = loadTopicCatalog().topics.find((t) => t.name === topicName);
  if (!topic) throw new Error(`${defaultCatalogFile} does not declare ${topicName}`);
  return topic.partitions;
}

/** Parses and validates catalog YAML text; `source` names it in errors. */
export function parseTopicCatalogYaml(text: string, source = 'catalog'): TopicCatalog {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new CatalogError(
      source,
      document.errors.map((error) => ({
        where: error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '',
        // `where` already holds the position, which prettyErrors also appends to the first line.
        message: (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  return parseTopicCatalog(document.toJS(), source);
}

/** Validates an already-parsed catalog (e.g. built in code by a test or another tool). */
export function parseTopicCatalog(input: unknown, source = 'catalog'): TopicCatalog {
  const result = catalogSchema.safeParse(input);
  if (result.success) return result.data;
  throw new CatalogError(source, describeIssues(result.error.issues, input));
}

/** Turns zod issues into problems located like `topics[2] (fleet.x.y.v1).partitions`. */
function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): CatalogProblem[] {
  return issues.map((issue) => ({ where: describePath(issue.path, input), message: issue.message }));
}

function describePath(issuePath: readonly PropertyKey[], input: unknown): string {
  let where = '';
  let node: unknown = input;
  for (const segment of issuePath) {
    node =
      isRecord(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[segment] : undefined;
    if (typeof segment === 'number') {
      where += `[${segment}]`;
      // Name the entry too: an index alone sends ops counting list items in a long file.
      if (isRecord(node) && typeof node.name === 'string') where += ` (${node.name})`;
    } else {
      where += where ? `.${String(segment)}` : String(segment);
    }
  }
  return where;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
