/** Metrics and thresholds as k6 reads them (./metrics.ts). */
import { describe, expect, it } from 'vitest';
import { MetricStore, aggregate, parseExpression, parseMetricKey, percentile, type Sample } from './metrics.js';

const sample = (metric: string, kind: Sample['kind'], value: number, tags: Record<string, string> = {}): Sample => ({ metric, kind, value, tags });

describe('percentile', () => {
  it.each([
    [[1, 2, 3, 4, 5], 50, 3],
    [[1, 2, 3, 4, 5], 95, 4.8],
    [[10], 99, 10],
    [[1, 2], 0, 1],
    [[1, 2], 100, 2],
  ])('p(%#) of %j at %d is %d', (values, p, expected) => expect(percentile(values, p)).toBeCloseTo(expected));

  it('of nothing is NaN', () => expect(percentile([], 95)).toBeNaN());
});

describe('aggregate', () => {
  it('a counter adds up, and its rate is per second', () => expect(aggregate('counter', [1, 2, 3], 2)).toEqual({ count: 6, rate: 3 }));
  it('a rate is the share of non-zero samples', () => expect(aggregate('rate', [1, 0, 1, 1], 1)).toEqual({ rate: 0.75, trues: 3, falses: 1 }));
  it('a trend has k6’s statistics', () =>
    expect(aggregate('trend', [3, 1, 2], 1)).toMatchObject({ count: 3, avg: 2, min: 1, med: 2, max: 3 }));
});

describe('parsing thresholds', () => {
  it.each([
    ['checks', { metric: 'checks', tags: {} }],
    ['http_req_duration{op:api}', { metric: 'http_req_duration', tags: { op: 'api' } }],
    ['http_req_duration{op:order, method:POST}', { metric: 'http_req_duration', tags: { op: 'order', method: 'POST' } }],
  ])('%s', (key, parsed) => expect(parseMetricKey(key)).toEqual(parsed));

  it('a tag filter without a colon is refused', () => expect(() => parseMetricKey('http_req_duration{api}')).toThrow('tag:value'));

  it.each([
    ['rate>0.99', 0.995, true],
    ['rate>0.99', 0.99, false],
    ['count==0', 0, true],
    ['count==0', 1, false],
    ['p(95)<500', 499.9, true],
    ['p(95)<500', 500, false],
    ['rate<=0.01', 0.01, true],
    ['value!=3', 3, false],
  ])('%s against %d: %s', (expression, actual, ok) => expect(parseExpression(expression).compare(actual)).toBe(ok));

  it('an expression k6 would refuse is refused', () => expect(() => parseExpression('p95 < 500')).toThrow('threshold expression'));
});

describe('MetricStore.thresholds', () => {
  const store = new MetricStore();
  store.add([
    sample('http_req_duration', 'trend', 100, { op: 'api' }),
    sample('http_req_duration', 'trend', 900, { op: 'api' }),
    sample('http_req_duration', 'trend', 5000, { op: 'order' }),
    sample('invariant_violations', 'counter', 0),
    sample('checks', 'rate', 1),
    sample('checks', 'rate', 0),
  ]);

  it('a sub-metric takes only the samples with its tags', () => {
    const [api, order] = store.thresholds({ 'http_req_duration{op:api}': ['max<1000'], 'http_req_duration{op:order}': ['max<1000'] }, 1);
    expect(api).toMatchObject({ ok: true, actual: 900 });
    expect(order).toMatchObject({ ok: false, actual: 5000 });
  });

  it('each expression of a metric is its own result', () => {
    expect(store.thresholds({ checks: ['rate>0.4', 'rate==1'] }, 1).map((t) => t.ok)).toEqual([true, false]);
    expect(store.thresholds({ invariant_violations: ['count==0'] }, 1)).toEqual([{ metric: 'invariant_violations', expression: 'count==0', ok: true, actual: 0 }]);
  });

  it('a metric with no sample passes, as in k6', () => {
    expect(store.thresholds({ resume_ms: ['p(95)<1000'] }, 1)).toEqual([{ metric: 'resume_ms', expression: 'p(95)<1000', ok: true, actual: undefined }]);
  });

  it('an aggregation the metric does not have is an error', () => {
    expect(() => store.thresholds({ invariant_violations: ['p(95)<1'] }, 1)).toThrow('a counter has no p(95)');
  });
});
