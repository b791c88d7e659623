import { context, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  currentTraceIds,
  extractTraceContext,
  injectTraceHeaders,
  type OutgoingHeaders,
  withConsumerSpan,
  withProducerSpan,
} from './tracing.ts';

// No SDK is registered in this file: these tests prove propagation with the bare API.

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';
const valid = `00-${traceId}-${spanId}-01`;

function contextOf(spanContext: SpanContext) {
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

describe('inject and extract', () => {
  it('round-trips trace id, span id, flags and tracestate through Kafka headers (as Buffers)', () => {
    const headers: OutgoingHeaders = {};
    const parent = contextOf({ traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    injectTraceHeaders(headers, parent);
    expect(headers.traceparent).toBe(valid);
    const received = {
      traceparent: Buffer.from(String(headers.traceparent)),
      tracestate: Buffer.from('fleet=1'),
    };
    const extracted = trace.getSpanContext(extractTraceContext(received));
    expect(extracted).toMatchObject({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(extracted?.traceState?.get('fleet')).toBe('1');
  });

  it('uses the active context by default', () => {
    const headers: OutgoingHeaders = {};
    context.with(contextOf({ traceId, spanId, traceFlags: TraceFlags.NONE }), () =>
      injectTraceHeaders(headers),
    );
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-00`);
  });

  it('starts a fresh unsampled root when there is no trace to continue', () => {
    const first: OutgoingHeaders = {};
    const second: OutgoingHeaders = {};
    const written = injectTraceHeaders(first, ROOT_CONTEXT);
    injectTraceHeaders(second, ROOT_CONTEXT);
    expect(first.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(first.traceparent).toBe(`00-${written.traceId}-${written.spanId}-00`);
    expect(first.traceparent).not.toBe(second.traceparent);
  });

  it('never repeats a root id across refills of the pooled random ids', () => {
    const traceIds = new Set<string>();
    const spanIds = new Set<string>();
    const roots = 2000; // 24 bytes each: ~12 refills of the 4 KiB pool
    for (let i = 0; i < roots; i++) {
      const written = injectTraceHeaders({}, ROOT_CONTEXT);
      expect(written.traceId).toMatch(/^(?!0+$)[0-9a-f]{32}$/);
      expect(written.spanId).toMatch(/^(?!0+$)[0-9a-f]{16}$/);
      traceIds.add(written.traceId);
      spanIds.add(written.spanId);
    }
    expect(traceIds.size).toBe(roots);
    expect(spanIds.size).toBe(roots);
  });

  const malformed: Record<string, string | Buffer> = {
    'wrong length': `00-${traceId}-${spanId.slice(1)}-01`,
    'bad hex': `00-${traceId.replace('4', 'g')}-${spanId}-01`,
    'upper-case hex': `00-${traceId.toUpperCase()}-${spanId}-01`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${spanId}-01`,
    'all-zero span id': `00-${traceId}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${traceId}-${spanId}-01`,
    'version 00 with extra fields': `${valid}-extra`,
    oversized: `01-${traceId}-${spanId}-01-${'a'.repeat(100_000)}`,
    'non-ASCII bytes': Buffer.concat([Buffer.from(valid), Buffer.from([0xff, 0xfe])]),
    'control characters': `${valid}\n`,
    empty: '',
    garbage: '💥; DROP TABLE reservations;--',
  };

  for (const [name, value] of Object.entries(malformed)) {
    it(`ignores a malformed traceparent: ${name}`, () => {
      const base = contextOf({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
      const result = extractTraceContext({ traceparent: value }, base);
      expect(result).toBe(base);
      expect(trace.getSpanContext(extractTraceContext({ traceparent: value }))).toBeUndefined();
    });
  }

  it('drops an oversized tracestate but keeps a valid traceparent', () => {
    const extracted = trace.getSpanContext(
      extractTraceContext({ traceparent: valid, tracestate: `k=${'v'.repeat(600)}` }),
    );
    expect(extracted?.traceId).toBe(traceId);
    expect(extracted?.traceState).toBeUndefined();
  });
});

describe('spans without an SDK', () => {
  it('withConsumerSpan continues the producer trace for logs and onward sends', async () => {
    const headers = { traceparent: Buffer.from(valid) };
    const seen = await withConsumerSpan(
      { topic: 'fleet.reservation.commands.v1', partition: 2, offset: 7, headers },
      async () => {
        await new Promise((resolve) => setImmediate(resolve));
        const onward: OutgoingHeaders = {};
        injectTraceHeaders(onward);
        return { ids: currentTraceIds(), onward: onward.traceparent };
      },
      'settler',
    );
    expect(seen.ids).toEqual({ traceId, spanId });
    expect(seen.onward).toBe(valid);
    expect(currentTraceIds()).toBeUndefined();
  });

  it('withConsumerSpan ignores an ambient span when the record has no trace context', async () => {
    const ambient = contextOf({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 });
    const ids = await context.with(ambient, () =>
      withConsumerSpan({ topic: 't', partition: 0, offset: 0, headers: {} }, () => currentTraceIds()),
    );
    expect(ids).toBeUndefined();
  });

  it('withProducerSpan keeps the caller trace and rethrows failures', async () => {
    const parent = contextOf({ traceId, spanId, traceFlags: 1 });
    const ids = await context.with(parent, () => withProducerSpan('fleet.x.v1', () => currentTraceIds()));
    expect(ids?.traceId).toBe(traceId);
    await expect(
      withProducerSpan('fleet.x.v1', async () => {
        throw new Error('broker said no');
      }),
    ).rejects.toThrow('broker said no');
  });
});
