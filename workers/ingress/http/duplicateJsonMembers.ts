import { parse, type ValueNode } from '@humanwhocodes/momoa';

/** A member name that appears twice in one JSON object, and where. */
export interface DuplicateMember {
  /** The repeated name, decoded (`"vehicle\u0049d"` and `"vehicleId"` are the same name). */
  name: string;
  /** Names of the objects and indices of the arrays that lead to the repeating object. */
  path: readonly (string | number)[];
}

/**
 * The first member name that repeats inside one object of a JSON text, or undefined.
 *
 * RFC 8259 leaves duplicates to the parser: `JSON.parse` keeps the last, other parsers the first,
 * so a proxy or WAF that checked one `vehicleId` and an ingress that books another disagree on
 * what was asked. Refusing the text is the only reading both sides share. Throws
 * when the text is not JSON (call it on text `JSON.parse` accepted).
 */
export function firstDuplicateMember(json: string): DuplicateMember | undefined {
  return duplicateIn(parse(json, { mode: 'json' }).body, []);
}

function duplicateIn(node: ValueNode, path: (string | number)[]): DuplicateMember | undefined {
  if (node.type === 'Object') {
    const seen = new Set<string>();
    for (const member of node.members) {
      const name = member.name.type === 'String' ? member.name.value : member.name.name;
      if (seen.has(name)) return { name, path };
      seen.add(name);
    }
    for (const member of node.members) {
      const name = member.name.type === 'String' ? member.name.value : member.name.name;
      const found = duplicateIn(member.value, [...path, name]);
      if (found) return found;
    }
  } else if (node.type === 'Array') {
    for (const [index, element] of node.elements.entries()) {
      const found = duplicateIn(element.value, [...path, index]);
      if (found) return found;
    }
  }
  return undefined;
}
