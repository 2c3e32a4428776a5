/** `k6/metrics`: custom metrics; each `add` is a sample for the main thread. */
import type { MetricKind } from '../metrics.js';
import { emit } from '../vu.js';

class Metric {
  constructor(
    readonly name: string,
    private readonly kind: MetricKind,
  ) {}

  add(value: number | boolean, tags?: Record<string, string>): void {
    emit(this.name, this.kind, Number(value), tags);
  }
}

export class Counter extends Metric {
  constructor(name: string) {
    super(name, 'counter');
  }
}
export class Gauge extends Metric {
  constructor(name: string) {
    super(name, 'gauge');
  }
}
export class Rate extends Metric {
  constructor(name: string) {
    super(name, 'rate');
  }
}
export class Trend extends Metric {
  constructor(name: string, _isTime?: boolean) {
    super(name, 'trend');
  }
}

export default { Counter, Gauge, Rate, Trend };
