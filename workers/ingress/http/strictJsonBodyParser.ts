import type { FastifyInstance } from 'fastify';
import { firstDuplicateMember } from './duplicateJsonMembers.ts';
import { bodyPointer, type HttpProblem, invalidJsonProblem, validationProblem } from './problemDetails.ts';

/**
 * Replaces Fastify's JSON body parser with one that also refuses a body repeating a member name
 * in one object (400, the member named). The rest is Fastify's own parser: empty and malformed
 * bodies, prototype poisoning (`__proto__`, `constructor.prototype`) refused as before.
 */
export function useStrictJsonBodies(app: FastifyInstance, bodyLimitBytes: number): void {
  const fastifyJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: bodyLimitBytes },
    (request, body, done) => {
      const text = body as string; // parseAs: 'string'
      fastifyJson(request, text, (error, value) => {
        if (error) {
          done(error, undefined);
          return;
        }
        let problem: HttpProblem | undefined;
        try {
          problem = duplicateMemberProblem(text);
        } catch {
          // JSON.parse took the text and the strict parser did not (a lone surrogate, say):
          // refused as malformed, the answer a stricter peer would give.
          problem = invalidJsonProblem();
        }
        if (problem) done(problem, undefined);
        else done(null, value);
      });
    },
  );
}

function duplicateMemberProblem(json: string): HttpProblem | undefined {
  const duplicate = firstDuplicateMember(json);
  if (!duplicate) return undefined;
  const segments = [...duplicate.path, duplicate.name];
  return validationProblem(
    [
      {
        field: segments.join('.'),
        in: 'body',
        pointer: bodyPointer(segments),
        detail: 'appears more than once in one object; send each member once',
      },
    ],
    'the body repeats a member name',
  );
}
