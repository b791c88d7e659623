import { parseArgs } from 'node:util';
import { SchemaIncompatibleError } from '../workers/runtime/avro/avroErrors.ts';
import { checkSubject } from './checkSubject.ts';
import { type RegisterRegistry, registerSubject, SchemaMatchesOlderVersionError } from './registerSubject.ts';
import type { SubjectDefinition } from './subjects.ts';

/** Exit codes of `npm run schemas`. */
export const exitCodes = Object.freeze({
  ok: 0,
  /** A schema is refused: incompatible with its registered versions, or identical to an older version (a rollback that would change nothing). */
  incompatible: 1,
  /** Bad arguments or configuration. */
  usage: 2,
  /** The registry failed or could not be reached. */
  registryFailure: 3,
});

export const usage = `usage: npm run schemas -- <register|check> [--subject <subject>]

  register   set each subject's compatibility level and register its schema (idempotent)
  check      refuse a schema that is incompatible with the registered versions, naming the field
  --subject  only this subject (default: every subject in schemas/subjects.ts)`;

/** What the CLI runs against: the registry, the subjects, and where lines go. */
export interface SchemasCliContext {
  registry: RegisterRegistry;
  subjects: readonly SubjectDefinition[];
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs `schemas register|check` and returns the process exit code. */
export async function runSchemasCli(argv: readonly string[], context: SchemasCliContext): Promise<number> {
  let command: string | undefined;
  let only: string | undefined;
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: { subject: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (parsed.values.help) {
      context.out(usage);
      return exitCodes.ok;
    }
    [command] = parsed.positionals;
    only = parsed.values.subject;
    if (parsed.positionals.length !== 1 || (command !== 'register' && command !== 'check')) {
      throw new Error(
        command === undefined ? 'missing command' : `unknown command ${parsed.positionals.join(' ')}`,
      );
    }
  } catch (error) {
    context.err(`${(error as Error).message}\n${usage}`);
    return exitCodes.usage;
  }

  const subjects = only === undefined ? context.subjects : context.subjects.filter((s) => s.subject === only);
  if (subjects.length === 0) {
    context.err(
      `unknown subject ${only}; known subjects:\n${context.subjects.map((s) => `  ${s.subject}`).join('\n')}`,
    );
    return exitCodes.usage;
  }

  let exitCode: number = exitCodes.ok;
  for (const definition of subjects) {
    try {
      exitCode = Math.max(
        exitCode,
        command === 'register' ? await register(context, definition) : await check(context, definition),
      );
    } catch (error) {
      if (error instanceof SchemaIncompatibleError || error instanceof SchemaMatchesOlderVersionError) {
        context.err(`refused: ${error.message}`);
        exitCode = Math.max(exitCode, exitCodes.incompatible);
      } else {
        context.err(`${definition.subject}: ${(error as Error).message}`);
        exitCode = Math.max(exitCode, exitCodes.registryFailure);
      }
    }
  }
  return exitCode;
}

async function register(context: SchemasCliContext, definition: SubjectDefinition): Promise<number> {
  const registration = await registerSubject(context.registry, definition);
  context.out(
    `${registration.subject}: id ${registration.id}, version ${registration.version} (${registration.outcome}, ${definition.compatibility})`,
  );
  return exitCodes.ok;
}

async function check(context: SchemasCliContext, definition: SubjectDefinition): Promise<number> {
  const result = await checkSubject(context.registry, definition);
  for (const note of result.notes) context.err(`note: ${note}`);
  switch (result.status) {
    case 'new':
      context.out(`${result.subject}: not registered yet (new subject), nothing to be compatible with`);
      return exitCodes.ok;
    case 'unchanged':
      context.out(`${result.subject}: identical to registered version ${result.comparedVersions[0]}`);
      return exitCodes.ok;
    case 'compatible':
      context.out(
        `${result.subject}: compatible with ${describeCompared(result.comparedVersions)} at ${result.level}`,
      );
      return exitCodes.ok;
    case 'incompatible':
      for (const problem of result.problems) context.err(problem);
      context.err(`${result.subject}: incompatible change refused`);
      return exitCodes.incompatible;
  }
}

function describeCompared(versions: readonly number[]): string {
  return versions.length === 1 ? `version ${versions[0]}` : `versions ${versions.join(', ')}`;
}
