/**
 * Traces, from a trace store: the local stand-in's own (trace-store.ts, in
 * its process), or one over HTTP that serves `GET /traces/{traceId}` and
 * `GET /orders/{id}/trace` as JSON ({@link Trace}), as the stand-in's
 * receiver does. Without one, {@link NO_TRACES} answers that no trace was
 * recorded.
 */
import { TransientError } from '../../lib/errors.js';
import type { Span, Trace } from './api-types.js';

export interface TraceSource {
  /** Whether any trace store is behind this source. */
  readonly available: boolean;
  /** The trace, or undefined when none was recorded. */
  trace(traceId: string): Promise<Trace | undefined>;
  /** The trace of an order's saga, or undefined when none was recorded. */
  orderTrace(orderId: string): Promise<Trace | undefined>;
}

/** No trace store: nothing was recorded. */
export const NO_TRACES: TraceSource = { available: false, trace: async () => undefined, orderTrace: async () => undefined };

const SPAN_KINDS = new Set(['internal', 'server', 'client', 'producer', 'consumer']);
const NANOS = /^\d{1,25}$/;

/** Whether `value` is a trace as the store promises it; a malformed one is the store's fault, not the page's. */
export function isTrace(value: unknown): value is Trace {
  if (typeof value !== 'object' || value === null) return false;
  const { traceId, spans } = value as Partial<Trace>;
  return typeof traceId === 'string' && Array.isArray(spans) && spans.every(isSpan);
}

function isSpan(value: unknown): value is Span {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<Span>;
  return (
    typeof s.traceId === 'string' &&
    typeof s.spanId === 'string' &&
    (s.parentSpanId === undefined || typeof s.parentSpanId === 'string') &&
    typeof s.name === 'string' &&
    typeof s.service === 'string' &&
    SPAN_KINDS.has(String(s.kind)) &&
    NANOS.test(String(s.startUnixNano)) &&
    NANOS.test(String(s.endUnixNano)) &&
    ['unset', 'ok', 'error'].includes(String(s.status)) &&
    Array.isArray(s.events) &&
    Array.isArray(s.links)
  );
}

/** Traces from a store serving the JSON routes above at `baseUrl`. */
export function httpTraceSource(baseUrl: string, timeoutMs = 5000): TraceSource {
  const base = baseUrl.replace(/\/+$/, '');
  async function get(path: string): Promise<Trace | undefined> {
    let res: Response;
    try {
      res = await fetch(base + path, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new TransientError(`The trace store is not answering (${(err as Error).message})`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new TransientError(`The trace store answered ${res.status}`);
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (!isTrace(body)) throw new TransientError('The trace store answered something that is not a trace');
    return body;
  }
  return {
    available: true,
    trace: (traceId) => get(`/traces/${encodeURIComponent(traceId)}`),
    orderTrace: (orderId) => get(`/orders/${encodeURIComponent(orderId)}/trace`),
  };
}
