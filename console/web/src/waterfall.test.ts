/** The waterfall of the fixture trace: nesting, order and proportions. */
import { describe, expect, it } from 'vitest';
import { fixtureTrace } from '../../server/trace-fixture.js';
import { waterfallOf } from './waterfall.js';

describe('the waterfall', () => {
  const trace = fixtureTrace();
  const { rows, totalMs, services } = waterfallOf(trace);

  it('draws every span once, each under its parent, children by start time', () => {
    expect(rows).toHaveLength(trace.spans.length);
    const position = new Map(rows.map((r, i) => [r.span.spanId, i]));
    for (const r of rows) {
      if (r.span.parentSpanId === undefined) {
        expect(r.depth).toBe(0);
        continue;
      }
      const parent = rows[position.get(r.span.parentSpanId)!]!;
      expect(position.get(r.span.spanId)!).toBeGreaterThan(position.get(parent.span.spanId)!);
      expect(r.depth).toBe(parent.depth + 1);
    }
    expect(rows[0]!.span.name).toBe('POST /orders');
  });

  it('places each span by its time within the whole trace', () => {
    expect(totalMs).toBe(48);
    expect(rows[0]).toMatchObject({ offset: 0, width: 1, startMs: 0, durationMs: 48 });
    for (const r of rows) {
      expect(r.offset).toBeGreaterThanOrEqual(0);
      expect(r.offset + r.width).toBeLessThanOrEqual(1.0001);
    }
    const retried = rows.filter((r) => r.span.name.startsWith('send http://charge.'));
    expect(retried.map((r) => r.span.status)).toEqual(['error', 'ok']);
    expect(retried[1]!.startMs).toBeGreaterThan(retried[0]!.startMs);
  });

  it('names the services in the trace', () => {
    expect(services).toEqual(['place-order', 'broker', 'reserve-slot', 'charge', 'notify']);
  });

  it('draws a span whose parent is missing as a root, and an empty trace as nothing', () => {
    const orphan = { ...trace.spans[3]!, parentSpanId: 'ffffffffffffffff' };
    expect(waterfallOf({ traceId: 't', spans: [orphan] }).rows[0]!.depth).toBe(0);
    expect(waterfallOf({ traceId: 't', spans: [] })).toEqual({ rows: [], totalMs: 0, services: [] });
  });
});
