import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem, notFoundProblem, problemTypes, unavailableProblem } from '../http/problemDetails.ts';
import { unsupportedMediaType } from '../http/problemMapping.ts';
import { principalOf, requestState } from '../http/requestState.ts';
import type { IngressConfig } from '../ingressConfig.ts';
import type { IngressMetrics } from '../ingressMetrics.ts';
import {
  type CommandContext,
  EnqueueError,
  type ReservationCommandPublisher,
} from '../reservations/reservationCommands.ts';
import {
  parseIdempotencyKey,
  parseReservationShape,
  type ReservationRequestInput,
  requestHash,
  reservationRuleProblem,
  uuidPattern,
} from '../reservations/reservationInput.ts';
import type { ReservationStore, ReservationView } from '../reservations/reservationStore.ts';
import type { IngressRoute } from './ingressRoute.ts';

/** What the reservation routes work with. */
export interface ReservationRouteContext {
  config: IngressConfig;
  store: ReservationStore;
  publisher: ReservationCommandPublisher;
  metrics: IngressMetrics;
  now: () => number;
}

/** The JSON a reservation is shown as (BRIEF §4); `reason` only when rejected. */
export function reservationBody(view: ReservationView): Record<string, unknown> {
  const body: Record<string, unknown> = {
    reservationId: view.reservationId,
    vehicleId: view.vehicleId,
    startsAt: view.startsAt.toISOString(),
    endsAt: view.endsAt.toISOString(),
    status: view.status,
  };
  if (view.status === 'rejected') body.reason = view.reason;
  return body;
}

function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/json\s*(;|$)/i.test(type)) return false;
  // RFC 8259: JSON between systems is UTF-8; a body announced in another charset would be misread.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type)?.[1];
  return charset === undefined || charset.toLowerCase() === 'utf-8';
}

function commandContext(request: FastifyRequest, nowMs: number): CommandContext {
  return { correlationId: request.id, traceparent: requestState(request)?.traceparent, nowMs };
}

function accepted(reply: FastifyReply, reservationId: string, body: Record<string, unknown>) {
  return reply.code(202).header('location', `/v1/reservations/${reservationId}`).send(body);
}

/** POST/GET/DELETE /v1/reservations… */
export function reservationRoutes(ctx: ReservationRouteContext): IngressRoute[] {
  const { config, store, publisher, metrics } = ctx;

  async function place(request: FastifyRequest, reply: FastifyReply) {
    if (!isJson(request)) throw unsupportedMediaType();
    const principal = principalOf(request);
    const idempotencyKey = parseIdempotencyKey(
      request.raw.headersDistinct?.['idempotency-key'] ?? request.headers['idempotency-key'],
    );
    const nowMs = ctx.now();
    const input = parseReservationShape(request.body);
    const refusal = reservationRuleProblem(input, config.reservations, nowMs) ?? publisher.unavailability();
    if (refusal) {
      // A retry must get its first answer even when the time rules or the broker would refuse a
      // new request now: its key names the reservation, which may need nothing produced at all.
      const earlier =
        idempotencyKey === undefined
          ? undefined
          : await store.findByIdempotencyKey(principal.subject, idempotencyKey);
      if (earlier?.hash.equals(requestHash(input))) {
        return replay(request, reply, earlier.reservationId, earlier.status, input, idempotencyKey, nowMs);
      }
      throw refusal;
    }
    const outcome = await store.placePending(
      {
        reservationId: randomUUID(),
        customerId: principal.subject,
        idempotencyKey,
        hash: requestHash(input),
        input,
      },
      config.reservations.quotaPerCustomer,
    );
    switch (outcome.kind) {
      case 'key-reused':
        metrics.reservationOutcomes.inc({ outcome: 'key_reused' });
        throw new HttpProblem({
          status: 422,
          type: problemTypes.idempotencyKeyReused,
          title: 'Idempotency-Key reused',
          detail: 'this Idempotency-Key was already used for a different request',
          errors: [{ field: 'Idempotency-Key', in: 'header', detail: 'was used with another body' }],
        });
      case 'unknown-vehicle':
        metrics.reservationOutcomes.inc({ outcome: 'unknown_vehicle' });
        throw new HttpProblem({
          status: 422,
          type: problemTypes.unknownVehicle,
          title: 'Unknown vehicle',
          detail: 'no bookable vehicle has this id',
          errors: [
            { field: 'vehicleId', in: 'body', pointer: '#/vehicleId', detail: 'is not in the catalog' },
          ],
        });
      case 'quota-exceeded':
        metrics.reservationOutcomes.inc({ outcome: 'quota_exceeded' });
        throw new HttpProblem({
          status: 409,
          type: problemTypes.quotaExceeded,
          title: 'Reservation quota exceeded',
          detail: `a customer may hold at most ${config.reservations.quotaPerCustomer} pending or confirmed reservations that have not ended`,
          extensions: { limit: config.reservations.quotaPerCustomer },
        });
      case 'replayed':
        return replay(request, reply, outcome.reservationId, outcome.status, input, idempotencyKey, nowMs);
      case 'created':
        return enqueueCreated(request, reply, outcome.reservationId, input, idempotencyKey, nowMs);
    }
  }

  async function enqueueCreated(
    request: FastifyRequest,
    reply: FastifyReply,
    reservationId: string,
    input: ReservationRequestInput,
    idempotencyKey: string | undefined,
    nowMs: number,
  ) {
    const principal = principalOf(request);
    try {
      await publisher.publishRequested(
        { reservationId, customerId: principal.subject, ...vehicleAndPeriod(input), idempotencyKey },
        commandContext(request, nowMs),
      );
    } catch (error) {
      if (!(error instanceof EnqueueError)) throw error;
      // Same request, before answering: no pending row may outlive a refused request.
      const withdrawal = await store.withdrawUnenqueued(reservationId);
      if (withdrawal === 'pending') {
        // A retry with this request's key claimed the row and is producing it (migration 015): our
        // own produce failed, so no 202 from here; the retry answers for itself, the relay backs it.
        metrics.reservationOutcomes.inc({ outcome: 'enqueue_failed' });
        request.log.warn(
          { reservationId, reason: error.reason, err: error },
          'command not enqueued; the row stays pending for the retry that claimed it',
        );
        throw error;
      }
      if (withdrawal !== 'withdrawn' && withdrawal !== 'not-found') {
        // The settler already decided it, so the record did reach Kafka: the truthful answer is 202.
        request.log.warn(
          { reservationId, status: withdrawal, err: error },
          'produce reported failure but the command was settled',
        );
        metrics.reservationOutcomes.inc({ outcome: 'accepted' });
        return accepted(reply, reservationId, { reservationId, status: 'pending' });
      }
      metrics.reservationOutcomes.inc({ outcome: 'enqueue_failed' });
      request.log.warn(
        { reservationId, reason: error.reason, err: error },
        'reservation withdrawn: command not enqueued',
      );
      throw error;
    }
    metrics.reservationOutcomes.inc({ outcome: 'accepted' });
    return accepted(reply, reservationId, { reservationId, status: 'pending' });
  }

  async function replay(
    request: FastifyRequest,
    reply: FastifyReply,
    reservationId: string,
    status: string,
    input: ReservationRequestInput,
    idempotencyKey: string | undefined,
    nowMs: number,
  ) {
    // Still pending: the first attempt may be in flight or its 202 lost, so this attempt sends the
    // same command again (same command id; the settler settles a reservation once) and, like any
    // 202, answers only after the broker acknowledged. It claims the row first, so the first
    // attempt, should its produce fail, cannot withdraw what this one is answering 202 for; nor
    // may this one withdraw it on failure (the relay re-produces it).
    if (status === 'pending' && (await claimForReplay(reservationId)) === 'claimed') {
      await publisher.publishRequested(
        {
          reservationId,
          customerId: principalOf(request).subject,
          ...vehicleAndPeriod(input),
          idempotencyKey,
        },
        commandContext(request, nowMs),
      );
    }
    metrics.reservationOutcomes.inc({ outcome: 'replayed' });
    return accepted(reply, reservationId, { reservationId, status: 'pending' });
  }

  /** `claimed`, or the row's decided status; refuses with 503 when the first attempt withdrew it. */
  async function claimForReplay(reservationId: string) {
    const claim = await store.claimForReplay(reservationId);
    if (claim === 'withdrawn' || claim === 'not-found') {
      metrics.reservationOutcomes.inc({ outcome: 'enqueue_failed' });
      // Withdrawal frees the key (migration 007): the next retry with it is a new attempt.
      throw unavailableProblem('the first attempt with this Idempotency-Key could not be enqueued; retry', 1);
    }
    return claim;
  }

  async function findVisible(request: FastifyRequest): Promise<ReservationView> {
    const { reservationId } = request.params as { reservationId: string };
    const principal = principalOf(request);
    // A malformed id, someone else's reservation and a missing one all get the same 404.
    if (!uuidPattern.test(reservationId)) throw notFoundProblem('no such reservation');
    const view = await store.findVisible(
      reservationId.toLowerCase(),
      principal.role === 'admin' ? null : principal.subject,
    );
    if (!view) throw notFoundProblem('no such reservation');
    return view;
  }

  async function show(request: FastifyRequest) {
    return reservationBody(await findVisible(request));
  }

  async function cancel(request: FastifyRequest, reply: FastifyReply) {
    const view = await findVisible(request);
    if (view.status === 'rejected') {
      throw new HttpProblem({
        status: 409,
        type: problemTypes.notCancellable,
        title: 'Reservation not cancellable',
        detail: 'a rejected reservation cannot be cancelled',
      });
    }
    if (view.status !== 'cancelled') {
      // The owner's id even when an admin cancels: the admin was authorized here, and the settler
      // checks the command's customer against the reservation's owner.
      await publisher.publishCancellation(
        { reservationId: view.reservationId, customerId: view.customerId, vehicleId: view.vehicleId },
        commandContext(request, ctx.now()),
      );
      const principal = principalOf(request);
      if (principal.subject !== view.customerId) {
        request.log.info(
          { reservationId: view.reservationId, actorRole: principal.role },
          'cancellation requested on behalf of the owner',
        );
      }
    }
    return accepted(reply, view.reservationId, {
      reservationId: view.reservationId,
      status: view.status,
      cancellationRequested: view.status !== 'cancelled',
    });
  }

  return [
    { method: 'POST', url: '/v1/reservations', access: 'authenticated', handler: place },
    { method: 'GET', url: '/v1/reservations/:reservationId', access: 'authenticated', handler: show },
    { method: 'DELETE', url: '/v1/reservations/:reservationId', access: 'authenticated', handler: cancel },
  ];
}

function vehicleAndPeriod(input: ReservationRequestInput) {
  return { vehicleId: input.vehicleId, startsAtMs: input.startsAtMs, endsAtMs: input.endsAtMs };
}
