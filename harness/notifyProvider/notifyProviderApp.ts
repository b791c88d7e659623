import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FastifyInstance, fastify } from 'fastify';

/**
 * The local stand-in for the external notification provider (an SMS/e-mail API we do not run):
 * what the notifier talks to on the local stack and in tests, with the contract a real provider
 * keeps — bearer token, JSON message, `Idempotency-Key` (the same key is one message; the same key
 * with another body is 409) — plus what a real one cannot offer locally: the messages it took
 * (`GET /v1/messages`) and injected faults (`PUT /v1/faults`) for tests and runbook drills.
 */
export interface NotifyProviderOptions {
  /** The bearer token a sender must present. */
  token: string;
  /** Messages kept for `GET /v1/messages`, oldest dropped first (default 10,000). */
  maxMessages?: number;
}

/** A message the provider accepted. */
export interface AcceptedMessage {
  messageId: string;
  idempotencyKey: string;
  to: string;
  template: string;
  data: Record<string, unknown>;
  acceptedAt: string;
}

/** Injected trouble: answer `status` (or hang for `delayMs` first) to the next `count` sends. */
interface Fault {
  status: number;
  count: number;
  delayMs: number;
}

const messageSchema = {
  type: 'object',
  required: ['to', 'template', 'data'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 255 },
    template: { type: 'string', pattern: '^[a-z]+\\.[a-z]+$' },
    data: { type: 'object' },
  },
} as const;

const faultSchema = {
  type: 'object',
  required: ['status', 'count'],
  additionalProperties: false,
  properties: {
    status: { type: 'integer', minimum: 200, maximum: 599 },
    count: { type: 'integer', minimum: 0 },
    delayMs: { type: 'integer', minimum: 0, maximum: 60_000 },
  },
} as const;

/** Builds the provider's HTTP app (not listening yet). */
export function createNotifyProviderApp(options: NotifyProviderOptions): FastifyInstance {
  const maxMessages = options.maxMessages ?? 10_000;
  const byKey = new Map<string, { message: AcceptedMessage; body: string }>();
  let fault: Fault | undefined;
  // Closing must not wait on a sender's keep-alive socket or a request held by an injected delay.
  const app = fastify({ logger: false, bodyLimit: 16_384, forceCloseConnections: true });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ok' }));

  app.post('/v1/messages', { schema: { body: messageSchema } }, async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${options.token}`) {
      return reply.code(401).send({ error: 'invalid token' });
    }
    if (fault && fault.count > 0) {
      fault.count--;
      if (fault.delayMs > 0) await sleep(fault.delayMs);
      if (fault.status >= 300) return reply.code(fault.status).send({ error: 'injected fault' });
    }
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
      return reply.code(400).send({ error: 'Idempotency-Key header required' });
    }
    const body = request.body as Pick<AcceptedMessage, 'to' | 'template' | 'data'>;
    const canonical = JSON.stringify(body);
    const known = byKey.get(key);
    if (known) {
      if (known.body !== canonical) {
        return reply.code(409).send({ error: 'Idempotency-Key reused with another message' });
      }
      return reply.code(200).send({ messageId: known.message.messageId, duplicate: true });
    }
    const message: AcceptedMessage = {
      messageId: randomUUID(),
      idempotencyKey: key,
      ...body,
      acceptedAt: new Date().toISOString(),
    };
    byKey.set(key, { message, body: canonical });
    if (byKey.size > maxMessages) byKey.delete(byKey.keys().next().value as string);
    return reply.code(201).send({ messageId: message.messageId, duplicate: false });
  });

  app.get('/v1/messages', async (request) => {
    const { to } = request.query as { to?: string };
    const messages = [...byKey.values()].map((entry) => entry.message);
    return { messages: to ? messages.filter((m) => m.to === to) : messages };
  });

  app.put('/v1/faults', { schema: { body: faultSchema } }, async (request, reply) => {
    const body = request.body as { status: number; count: number; delayMs?: number };
    fault = { status: body.status, count: body.count, delayMs: body.delayMs ?? 0 };
    return reply.code(204).send();
  });

  app.delete('/v1/faults', async (_request, reply) => {
    fault = undefined;
    return reply.code(204).send();
  });

  return app;
}
