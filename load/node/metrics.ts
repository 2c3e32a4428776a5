/**
 * Metrics and thresholds the way k6 keeps them: every sample with its tags;
 * a threshold names a metric, perhaps a sub-metric by tags
 * (`http_req_duration{op:api}`), and an aggregation compared with a number
 * (`p(95)<500`, `count==0`, `rate>0.99`).
 */

export type MetricKind = 'counter' | 'gauge' | 'rate' | 'trend';

export interface Sample {
  metric: string;
  kind: MetricKind;
  value: number;
  tags: Record<string, string>;
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  ok: boolean;
  /** The aggregated value it was compared with; undefined when the metric had no sample. */
  actual: number | undefined;
}

/** `p(N)` by linear interpolation between the closest ranks, as k6 computes it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/** The values k6 shows for a metric of `kind`, and thresholds can name. */
export function aggregate(kind: MetricKind, values: readonly number[], seconds: number): Record<string, number> {
  if (kind === 'counter') {
    const count = values.reduce((a, b) => a + b, 0);
    return { count, rate: seconds > 0 ? count / seconds : 0 };
  }
  if (kind === 'rate') {
    // k6's ✓ and ✗ of a rate: how many samples were non-zero (true), how many zero.
    const trues = values.filter((v) => v !== 0).length;
    return { rate: values.length === 0 ? 0 : trues / values.length, trues, falses: values.length - trues };
  }
  if (kind === 'gauge') return { value: values[values.length - 1] ?? 0, min: Math.min(...values), max: Math.max(...values) };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    avg: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    min: sorted[0] ?? NaN,
    med: percentile(sorted, 50),
    max: sorted[sorted.length - 1] ?? NaN,
    'p(90)': percentile(sorted, 90),
    'p(95)': percentile(sorted, 95),
    'p(99)': percentile(sorted, 99),
  };
}

/** `http_req_duration{op:api,method:GET}` → the metric and the tags its samples must carry. */
export function parseMetricKey(key: string): { metric: string; tags: Record<string, string> } {
  const match = /^([\w.]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!match) throw new Error(`not a metric name: ${key}`);
  const tags: Record<string, string> = {};
  for (const pair of (match[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const at = pair.indexOf(':');
    if (at < 0) throw new Error(`not a tag filter (tag:value): ${pair} in ${key}`);
    tags[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return { metric: match[1]!, tags };
}

const OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** `p(95)<500` → the aggregation (`p(95)`), the operator and the number. */
export function parseExpression(expression: string): { aggregation: string; compare: (actual: number) => boolean } {
  const match = /^\s*(count|rate|value|avg|min|max|med|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expression);
  if (!match) throw new Error(`not a threshold expression k6 knows: ${expression}`);
  const [, aggregation, operator, number] = match;
  return { aggregation: aggregation!, compare: (actual) => OPERATORS[operator!]!(actual, Number(number)) };
}

/** Every sample, and what they add up to. */
export class MetricStore {
  readonly samples: Sample[] = [];

  add(samples: readonly Sample[]): void {
    for (const s of samples) this.samples.push(s);
  }

  /** The samples of `metric` that carry every tag of `tags`. */
  select(metric: string, tags: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.metric === metric && Object.entries(tags).every(([k, v]) => s.tags[k] === v));
  }

  names(): string[] {
    return [...new Set(this.samples.map((s) => s.metric))].sort();
  }

  summary(metric: string, seconds: number, tags: Record<string, string> = {}): { kind: MetricKind; values: Record<string, number> } | undefined {
    const samples = this.select(metric, tags);
    if (samples.length === 0) return undefined;
    const kind = samples[0]!.kind;
    return { kind, values: aggregate(kind, samples.map((s) => s.value), seconds) };
  }

  /** Each threshold of k6's `options.thresholds`, evaluated. A metric with no sample passes, as in k6. */
  thresholds(thresholds: Record<string, readonly (string | { threshold: string })[]>, seconds: number): ThresholdResult[] {
    const results: ThresholdResult[] = [];
    for (const [key, list] of Object.entries(thresholds)) {
      const { metric, tags } = parseMetricKey(key);
      const summary = this.summary(metric, seconds, tags);
      for (const item of list) {
        const expression = typeof item === 'string' ? item : item.threshold;
        const { aggregation, compare } = parseExpression(expression);
        const actual = summary?.values[aggregation];
        if (summary !== undefined && actual === undefined) throw new Error(`${key}: a ${summary.kind} has no ${aggregation}`);
        results.push({ metric: key, expression, ok: actual === undefined || compare(actual), actual });
      }
    }
    return results;
  }
}
