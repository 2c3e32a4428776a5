/**
 * A trace as a waterfall: each span a row under its parent, offset and
 * sized by its time within the whole trace.
 */
import type { Span, Trace } from '../../server/api-types.js';

export interface WaterfallRow {
  span: Span;
  /** Nesting under the trace's roots (0 for a root). */
  depth: number;
  /** Start and width as fractions of the trace's duration (0 to 1). */
  offset: number;
  width: number;
  startMs: number;
  durationMs: number;
}

export interface Waterfall {
  rows: WaterfallRow[];
  totalMs: number;
  services: string[];
}

const ms = (nanos: bigint) => Number(nanos / 1000n) / 1000;

export function waterfallOf(trace: Trace): Waterfall {
  if (trace.spans.length === 0) return { rows: [], totalMs: 0, services: [] };
  const start = trace.spans.reduce((min, s) => (BigInt(s.startUnixNano) < min ? BigInt(s.startUnixNano) : min), BigInt(trace.spans[0]!.startUnixNano));
  const end = trace.spans.reduce((max, s) => (BigInt(s.endUnixNano) > max ? BigInt(s.endUnixNano) : max), 0n);
  const total = end - start > 0n ? end - start : 1n;
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string | undefined, Span[]>();
  for (const span of trace.spans) {
    // A span whose parent is not in the trace (not yet exported, or from elsewhere) is drawn as a root.
    const parent = span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const byStart = (a: Span, b: Span) => (BigInt(a.startUnixNano) < BigInt(b.startUnixNano) ? -1 : BigInt(a.startUnixNano) > BigInt(b.startUnixNano) ? 1 : 0);
  const rows: WaterfallRow[] = [];
  const visit = (span: Span, depth: number) => {
    const from = BigInt(span.startUnixNano) - start;
    const length = BigInt(span.endUnixNano) - BigInt(span.startUnixNano);
    rows.push({
      span,
      depth,
      offset: Number((from * 10_000n) / total) / 10_000,
      width: Math.max(Number((length * 10_000n) / total) / 10_000, 0),
      startMs: ms(from),
      durationMs: ms(length),
    });
    for (const child of (children.get(span.spanId) ?? []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of (children.get(undefined) ?? []).sort(byStart)) visit(root, 0);
  const services = [...new Set(trace.spans.map((s) => s.service))];
  return { rows, totalMs: ms(total), services };
}
