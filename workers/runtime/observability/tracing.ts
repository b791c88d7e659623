import { randomFillSync } from 'node:crypto';
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ensureAsyncContextManager } from './asyncContextManager.ts';

/**
 * W3C trace context through Kafka record headers (OpenTelemetry messaging conventions:
 * PRODUCER `send <topic>`, CONSUMER `process <topic>` linked to the producer's context).
 * Works without an SDK: the API's non-recording spans carry the parent context, so trace ids
 * still flow from the ingress through every hop into logs. Incoming headers are untrusted
 * (OWASP API10): oversized or malformed values are ignored, never thrown on.
 */

// Importing tracing makes `context.active()` follow async calls (no-op when an SDK did it).
ensureAsyncContextManager();

const tracerName = 'fleetstream-runtime';
const tracer = trace.getTracer(tracerName);
const propagator = new W3CTraceContextPropagator();

export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** Version 00 is 55 characters; later versions may append fields, within reason. */
const maxTraceparentLength = 256;
/** W3C asks vendors to propagate at least 512 characters; more is dropped, not parsed. */
const maxTracestateLength = 512;
/** Visible ASCII only: anything else in these headers is not trace context. */
const printableAscii = /^[\x20-\x7e]*$/;

/** Record headers as producers write them. */
export type OutgoingHeaders = Record<string, string | Buffer>;
/** Record headers as consumers read them (last value per name). */
export type IncomingHeaders = Readonly<Record<string, Buffer | string | undefined>>;

const headerSetter: TextMapSetter<OutgoingHeaders> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** Returns a header only when it is small, printable text; the propagator validates the rest. */
function readTraceHeader(headers: IncomingHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined || raw === null) return undefined;
  const limit = name === TRACEPARENT_HEADER ? maxTraceparentLength : maxTracestateLength;
  if (raw.length > limit) return undefined;
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  return printableAscii.test(text) ? text : undefined;
}

const headerGetter: TextMapGetter<IncomingHeaders> = {
  get(carrier, key) {
    return readTraceHeader(carrier, key);
  },
  keys(carrier) {
    return Object.keys(carrier);
  },
};

// Ids are drawn from a pooled buffer refilled 4 KiB at a time: a crypto call per id (two per
// produced record without an incoming trace) was ~5% of a settler's CPU in the P3 profile.
const idPool = Buffer.alloc(4096);
let idPoolOffset = idPool.length;

function randomHexId(bytes: number): string {
  // An all-zero id is invalid by spec; at 2^-64 odds still worth one loop.
  for (;;) {
    if (idPoolOffset + bytes > idPool.length) {
      randomFillSync(idPool);
      idPoolOffset = 0;
    }
    const id = idPool.toString('hex', idPoolOffset, idPoolOffset + bytes);
    idPoolOffset += bytes;
    if (!/^0+$/.test(id)) return id;
  }
}

/**
 * Writes `traceparent` (and `tracestate`) for `ctx` into `headers`. When `ctx` carries no valid
 * span (no incoming trace, no SDK), a fresh unsampled root is written so that every record is
 * still traceable hop to hop. Returns the span context written.
 */
export function injectTraceHeaders(headers: OutgoingHeaders, ctx: Context = context.active()): SpanContext {
  let spanContext = trace.getSpanContext(ctx);
  let injectFrom = ctx;
  if (!spanContext || !isSpanContextValid(spanContext)) {
    spanContext = { traceId: randomHexId(16), spanId: randomHexId(8), traceFlags: TraceFlags.NONE };
    injectFrom = trace.setSpanContext(ctx, spanContext);
  }
  propagator.inject(injectFrom, headers, headerSetter);
  return spanContext;
}

/**
 * The context carried by a record's headers, on top of `base` (default: the root, so an
 * unrelated ambient span never becomes the parent). Invalid headers leave `base` unchanged.
 */
export function extractTraceContext(headers: IncomingHeaders, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, headers, headerGetter);
}

/** The active trace and span ids for log fields, or undefined outside any valid span. */
export function currentTraceIds(
  ctx: Context = context.active(),
): { traceId: string; spanId: string } | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

/**
 * Whether an OpenTelemetry SDK registered a tracer provider. Without one every span is the API's
 * non-recording span, and the helpers below only carry the trace context: starting no-op spans
 * (attribute and link objects, a second async context per record) cost about 1 µs of CPU per
 * consumed-and-produced record for nothing. Checked per call, so a later SDK takes over at once.
 */
function tracingSdkRegistered(): boolean {
  const provider = trace.getTracerProvider();
  // The API hands out its proxy until an SDK registers; the proxy then delegates to it.
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(tracerName) !== undefined;
}

/** The span handed to `fn` when there is no trace to continue and no SDK to record one. */
const detachedSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** `fn(span)` as a promise: a synchronous throw becomes a rejection, as inside an async span. */
function settle<T>(fn: (span: Span) => Promise<T> | T, span: Span): Promise<T> {
  try {
    return Promise.resolve(fn(span));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs `fn` in `span`'s context, records a thrown error on it, always ends it. */
async function runInSpan<T>(span: Span, fn: (span: Span) => Promise<T> | T): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
    throw error;
  } finally {
    span.end();
  }
}

/** The record coordinates a consumer span describes (a ConsumedMessage fits). */
export interface TracedRecord {
  topic: string;
  partition: number;
  offset: number;
  headers: IncomingHeaders;
}

/**
 * Runs `fn` in a CONSUMER span `process <topic>` continuing the producer's trace (parent, so ids
 * propagate without an SDK) and linking to it (the messaging conventions). The record key is
 * never an attribute: keys are personal data (vehicle, rental ids).
 */
export function withConsumerSpan<T>(
  record: TracedRecord,
  fn: (span: Span) => Promise<T> | T,
  consumerGroup?: string,
): Promise<T> {
  const parent = extractTraceContext(record.headers);
  if (!tracingSdkRegistered()) {
    // What the API's no-op tracer would do, without its span, attribute and link objects: the
    // record's context is active (and only it), its span context is the one handed to `fn`.
    return context.with(parent, () => settle(fn, trace.getSpan(parent) ?? detachedSpan));
  }
  const producerContext = trace.getSpanContext(parent);
  const links: Link[] = producerContext ? [{ context: producerContext }] : [];
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': record.topic,
    'messaging.destination.partition.id': String(record.partition),
    'messaging.kafka.offset': record.offset,
  };
  if (consumerGroup !== undefined) attributes['messaging.consumer.group.name'] = consumerGroup;
  return tracer.startActiveSpan(
    `process ${record.topic}`,
    { kind: SpanKind.CONSUMER, attributes, links },
    parent,
    (span) => runInSpan(span, fn),
  );
}

/** Runs `fn` in a PRODUCER span `send <topic>`, child of the active context. */
export function withProducerSpan<T>(topic: string, fn: (span: Span) => Promise<T> | T): Promise<T> {
  // Without an SDK the no-op span would carry the caller's span context unchanged: the active
  // context already is what `fn` and the headers it injects need.
  if (!tracingSdkRegistered()) return settle(fn, trace.getActiveSpan() ?? detachedSpan);
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.destination.name': topic,
  };
  return tracer.startActiveSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, (span) =>
    runInSpan(span, fn),
  );
}
