/**
 * CloudEvents spans, by OpenTelemetry's semantic conventions for
 * CloudEvents: a `CloudEvents Process <type>` consumer span per delivery
 * (under the HTTP server span, linked to the context the event carries) and
 * a `CloudEvents Create <type>` producer span per produced event, with the
 * `cloudevents.event_*` attributes.
 *
 * The distributed-tracing extension is set once per saga and never changed:
 * an event produced in response to another carries the consumed event's
 * extension; the saga's first event carries the context of its own producer
 * span. A step may give an event the context of another saga (a waiting
 * order's, kept with its payment): its producer span then belongs to that
 * saga's trace, and the span at work links to it, both ways.
 *
 * Spans are made only inside a traced request (an active span); without
 * one, as with OTEL_SDK_DISABLED=true, each call is a lookup and a branch.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type SpanContext } from '@opentelemetry/api';
import { extensionOf, spanContextOf, traceContextOf, type TraceContext } from './context.js';

export { extensionOf, type TraceContext } from './context.js';

/** What the spans read of an event. */
export interface EventAttributes {
  id: string;
  source: string;
  type: string;
  subject?: string | undefined;
  traceparent?: unknown;
  tracestate?: unknown;
}

const tracer = () => trace.getTracer('ordersaga');

/** The producer span of each event produced in this process, for the publisher to send it under. */
const producedIn = new WeakMap<object, SpanContext>();

/** The semantic conventions' attributes of an event. */
export function cloudEventAttributes(event: EventAttributes): Attributes {
  return {
    'cloudevents.event_id': event.id,
    'cloudevents.event_source': event.source,
    'cloudevents.event_type': event.type,
    ...(event.subject ? { 'cloudevents.event_subject': event.subject } : {}),
  };
}

function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  return work.then(
    (value) => (span.end(), value),
    (err: unknown) => {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      span.end();
      throw err;
    },
  );
}

/** Runs the processing of one delivered event inside its `CloudEvents Process <type>` span. */
export function processing<T>(event: EventAttributes, work: () => Promise<T>): Promise<T> {
  const parent = context.active();
  if (trace.getSpan(parent) === undefined) return work();
  const carried = spanContextOf(extensionOf(event));
  const span = tracer().startSpan(
    `CloudEvents Process ${event.type}`,
    { kind: SpanKind.CONSUMER, attributes: cloudEventAttributes(event), links: carried ? [{ context: carried }] : [] },
    parent,
  );
  return ended(span, context.with(trace.setSpan(parent, span), work));
}

/**
 * Runs a step that may produce events: `run` gets the context its events
 * carry unless they name their own, `inherited` (the consumed event's) or,
 * for the saga's first event, the context of a producer span started now.
 * That span is named and ended once the step says what it produced; when it
 * produced nothing the span is dropped unended, so it is never exported.
 */
export async function producing<R>(
  inherited: TraceContext | undefined,
  run: (trace: TraceContext | undefined) => Promise<R>,
  producedBy: (result: R) => readonly EventAttributes[],
): Promise<R> {
  const parent = context.active();
  const current = trace.getSpan(parent);
  if (current === undefined) return run(inherited);
  const startTime = Date.now();
  const first = inherited ? undefined : tracer().startSpan('CloudEvents Create', { kind: SpanKind.PRODUCER, startTime }, parent);
  const fresh = first && traceContextOf(first.spanContext());
  const result = await run(inherited ?? fresh);
  let firstTaken = false;
  for (const event of producedBy(result)) {
    const carried = extensionOf(event);
    let span: Span;
    if (first && !firstTaken && carried?.traceparent === fresh!.traceparent) {
      firstTaken = true;
      span = first.updateName(`CloudEvents Create ${event.type}`);
    } else {
      // An event that carries what the step was given is produced here, under the span at work.
      const own = carried?.traceparent === inherited?.traceparent ? undefined : spanContextOf(carried);
      const elsewhere = own !== undefined && own.traceId !== current.spanContext().traceId;
      if (elsewhere) current.addLink({ context: own });
      span = tracer().startSpan(
        `CloudEvents Create ${event.type}`,
        { kind: SpanKind.PRODUCER, startTime, links: elsewhere ? [{ context: current.spanContext() }] : [] },
        elsewhere ? trace.setSpanContext(parent, own) : parent,
      );
    }
    span.setAttributes(cloudEventAttributes(event)).end();
    producedIn.set(event, span.spanContext());
  }
  return result;
}

/**
 * Sends `event` under its producer span, or, for an event produced earlier
 * (the outbox's sweep, a reconciler's re-drive), under the context it
 * carries, linked from the span at work: the send belongs to the event's saga.
 */
export function publishing<T>(event: EventAttributes & object, send: () => Promise<T>): Promise<T> {
  const parent = context.active();
  const current = trace.getSpan(parent);
  if (current === undefined) return send();
  const produced = producedIn.get(event);
  if (produced) return context.with(trace.setSpanContext(parent, produced), send);
  const own = spanContextOf(extensionOf(event));
  if (own === undefined || own.traceId === current.spanContext().traceId) return send();
  current.addLink({ context: own });
  return context.with(trace.setSpanContext(parent, own), send);
}
