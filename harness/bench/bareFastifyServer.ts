/**
 * The P4 baseline (BRIEF §5): a bare Fastify 5 server whose `POST /v1/reservations` parses the
 * JSON body with the ingress's body settings and answers what the ingress answers on success
 * (`202 {"reservationId","status":"pending"}` + `Location`) — no auth, limiter, database or Kafka.
 * Run by ingressBench.ts in its own process: `BENCH_PORT=… node harness/bench/bareFastifyServer.ts`;
 * prints `ready` on stdout once listening, exits 0 on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { fastify } from 'fastify';

const port = Number(process.env.BENCH_PORT ?? 0);
const app = fastify({
  logger: false,
  bodyLimit: 4096,
  onProtoPoisoning: 'error',
  onConstructorPoisoning: 'error',
});
app.removeContentTypeParser('text/plain');
app.post('/v1/reservations', async (request, reply) => {
  const body = request.body as { vehicleId?: unknown } | null;
  if (typeof body?.vehicleId !== 'string') return reply.code(400).send({ status: 400 });
  const reservationId = randomUUID();
  return reply
    .code(202)
    .header('location', `/v1/reservations/${reservationId}`)
    .send({ reservationId, status: 'pending' });
});

await app.listen({ host: '127.0.0.1', port });
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
