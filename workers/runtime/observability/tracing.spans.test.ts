import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConsumerSpan, withProducerSpan } from './tracing.ts';

/**
 * A minimal recording TracerProvider: enough of the API to see which spans the helpers start,
 * with which kind, attributes, parent and links (the SDK is not a dependency).
 */
interface RecordedSpan {
  name: string;
  kind: SpanKind | undefined;
  attributes: Attributes;
  links: Link[];
  parent: SpanContext | undefined;
  spanContext: SpanContext;
  status: SpanStatus | undefined;
  exceptions: unknown[];
  ended: boolean;
}

class RecordingSpan implements Span {
  readonly record: RecordedSpan;
  constructor(record: RecordedSpan) {
    this.record = record;
  }
  spanContext(): SpanContext {
    return this.record.spanContext;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.record.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.record.attributes, attributes);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(link: Link): this {
    this.record.links.push(link);
    return this;
  }
  addLinks(links: Link[]): this {
    this.record.links.push(...links);
    return this;
  }
  setStatus(status: SpanStatus): this {
    this.record.status = status;
    return this;
  }
  updateName(name: string): this {
    this.record.name = name;
    return this;
  }
  end(): void {
    this.record.ended = true;
  }
  isRecording(): boolean {
    return !this.record.ended;
  }
  recordException(exception: unknown): void {
    this.record.exceptions.push(exception);
  }
}

const recorded: RecordedSpan[] = [];

const recordingTracer: Tracer = {
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = trace.getSpanContext(ctx);
    const record: RecordedSpan = {
      name,
      kind: options.kind,
      attributes: { ...options.attributes },
      links: [...(options.links ?? [])],
      parent,
      spanContext: {
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: 1,
      },
      status: undefined,
      exceptions: [],
      ended: false,
    };
    recorded.push(record);
    return new RecordingSpan(record);
  },
  startActiveSpan(name: string, ...rest: unknown[]): never {
    const fn = rest.pop() as (span: Span) => unknown;
    const options = (rest[0] ?? {}) as SpanOptions;
    const ctx = (rest[1] as Context | undefined) ?? context.active();
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn, undefined, span) as never;
  },
};

const provider: TracerProvider = { getTracer: () => recordingTracer };

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(() => {
  trace.disable();
});

const producerTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const producerSpanId = '00f067aa0ba902b7';

describe('span shapes (OpenTelemetry messaging conventions)', () => {
  it('withConsumerSpan starts CONSUMER "process <topic>" with messaging attributes, no key, linked to the producer', async () => {
    recorded.length = 0;
    await withConsumerSpan(
      {
        topic: 'fleet.reservation.commands.v1',
        partition: 4,
        offset: 1234,
        headers: { traceparent: Buffer.from(`00-${producerTraceId}-${producerSpanId}-01`) },
      },
      async () => undefined,
      'reservation-settler',
    );
    const [span] = recorded;
    expect(span?.name).toBe('process fleet.reservation.commands.v1');
    expect(span?.kind).toBe(4 /* SpanKind.CONSUMER */);
    expect(span?.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'fleet.reservation.commands.v1',
      'messaging.destination.partition.id': '4',
      'messaging.consumer.group.name': 'reservation-settler',
      'messaging.kafka.offset': 1234,
    });
    expect(Object.keys(span?.attributes ?? {}).some((k) => k.includes('key'))).toBe(false);
    expect(span?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      [producerTraceId, producerSpanId],
    ]);
    expect(span?.parent?.spanId).toBe(producerSpanId);
    expect(span?.ended).toBe(true);
  });

  it('records a handler failure on the consumer span and ends it', async () => {
    recorded.length = 0;
    await expect(
      withConsumerSpan({ topic: 't', partition: 0, offset: 1, headers: {} }, async () => {
        throw new TypeError('bad payload');
      }),
    ).rejects.toThrow('bad payload');
    expect(recorded[0]?.status).toEqual({ code: 2 /* ERROR */, message: 'TypeError' });
    expect(recorded[0]?.exceptions).toHaveLength(1);
    expect(recorded[0]?.links).toEqual([]);
    expect(recorded[0]?.ended).toBe(true);
  });

  it('withProducerSpan starts PRODUCER "send <topic>" as a child of the active span', async () => {
    recorded.length = 0;
    await withConsumerSpan({ topic: 'in', partition: 0, offset: 0, headers: {} }, () =>
      withProducerSpan('fleet.reservation.events.v1', () => undefined),
    );
    const [consumer, producer] = recorded;
    expect(producer?.name).toBe('send fleet.reservation.events.v1');
    expect(producer?.kind).toBe(3 /* SpanKind.PRODUCER */);
    expect(producer?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'fleet.reservation.events.v1',
    });
    expect(producer?.parent?.spanId).toBe(consumer?.spanContext.spanId);
  });
});
