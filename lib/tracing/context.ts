/**
 * W3C trace context as the CloudEvents distributed-tracing extension carries
 * it (`traceparent`, `tracestate` attributes), read and written.
 */
import { TraceFlags, createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/** The extension's two attributes, as an event or an outbox row keeps them. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

// Version 00 of the W3C header; a later version's first four fields read the same.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The extension an event carries, when it carries a well-formed one. */
export function extensionOf(event: object | undefined): TraceContext | undefined {
  const { traceparent, tracestate } = (event ?? {}) as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string' || spanContextOf({ traceparent }) === undefined) return undefined;
  return typeof tracestate === 'string' && tracestate !== '' ? { traceparent, tracestate } : { traceparent };
}

/** The remote span context a traceparent names, or undefined when it is malformed or all zeros. */
export function spanContextOf(context: TraceContext | undefined): SpanContext | undefined {
  const match = context && TRACEPARENT.exec(context.traceparent.trim().toLowerCase());
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(context.tracestate ? { traceState: createTraceState(context.tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** The extension's attributes for a span context. */
export function traceContextOf(spanContext: SpanContext): TraceContext {
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-0${spanContext.traceFlags & TraceFlags.SAMPLED}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
