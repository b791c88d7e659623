import { fileURLToPath } from 'node:url';
import type { CompatibilityLevel } from '../workers/runtime/avro/compatibilityLevel.ts';
import type { RentalEvent, ReservationCommand, ReservationEvent } from './generated/types.ts';

/** One value subject: where its schema lives, how it may evolve, and which generated type its values have. */
export interface SubjectDefinition {
  /** `<topic>-value` (TopicNameStrategy). */
  subject: string;
  topic: string;
  /** Absolute path of the .avsc file. */
  schemaFile: string;
  /** The level registered for the subject and enforced by `schemas check`. */
  compatibility: CompatibilityLevel;
  /** Name of the TypeScript type in schemas/generated/types.ts. */
  valueType: string;
  /** Why this level: who writes, who reads, who upgrades first. */
  rationale: string;
}

/** The TypeScript type of each subject's values (see schemas/generated/types.ts). */
export interface SubjectValueTypes {
  'fleet.reservation.commands.v1-value': ReservationCommand;
  'fleet.reservation.events.v1-value': ReservationEvent;
  'fleet.rental.events.v1-value': RentalEvent;
}

export type ValueSubject = keyof SubjectValueTypes;

const avroDir = fileURLToPath(new URL('./avro/', import.meta.url));

// Keyed by SubjectValueTypes so that a subject cannot be added to one without the other.
const definitions: { readonly [S in ValueSubject]: Omit<SubjectDefinition, 'subject'> } = {
  'fleet.reservation.commands.v1-value': {
    topic: 'fleet.reservation.commands.v1',
    schemaFile: `${avroDir}reservation-commands.v1.avsc`,
    compatibility: 'BACKWARD_TRANSITIVE',
    valueType: 'ReservationCommand',
    rationale:
      'Only our settler reads commands, and it deploys before the ingress that writes them; it must read every ' +
      'command still retained (replays), so each new schema must read all older ones. New command types may be added.',
  },
  'fleet.reservation.events.v1-value': {
    topic: 'fleet.reservation.events.v1',
    schemaFile: `${avroDir}reservation-events.v1.avsc`,
    compatibility: 'FULL_TRANSITIVE',
    valueType: 'ReservationEvent',
    rationale:
      'Several readers (ingress read model, notifier, others later) upgrade on their own schedule, before or after ' +
      'the settler: old readers must read new events and new readers old ones, across all retained versions.',
  },
  'fleet.rental.events.v1-value': {
    topic: 'fleet.rental.events.v1',
    schemaFile: `${avroDir}rental-events.v1.avsc`,
    compatibility: 'FULL_TRANSITIVE',
    valueType: 'RentalEvent',
    rationale:
      'Written by upstream services we do not deploy and read by the ledger and the notifier: neither side can ' +
      'wait for the other, so every version must be readable by every other version.',
  },
};

/** Every value subject, in a stable order. */
export const subjectDefinitions: readonly SubjectDefinition[] = Object.freeze(
  (Object.keys(definitions) as ValueSubject[]).map((subject) =>
    Object.freeze({ subject, ...definitions[subject] }),
  ),
);

/** The value subject names the topic catalog may reference (`<topic>-value`). */
export function listValueSubjects(): ValueSubject[] {
  return subjectDefinitions.map((definition) => definition.subject as ValueSubject);
}

/** The definition of a subject, or undefined when it is not one of ours. */
export function findSubjectDefinition(subject: string): SubjectDefinition | undefined {
  return subjectDefinitions.find((definition) => definition.subject === subject);
}

/** The value subject of a topic when it has one of our schemas (TopicNameStrategy), else undefined. */
export function subjectForTopic(topic: string): ValueSubject | undefined {
  return subjectDefinitions.find((definition) => definition.topic === topic)?.subject as
    | ValueSubject
    | undefined;
}
