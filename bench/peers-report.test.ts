import { describe, expect, it } from 'vitest';
import { bestRounds, renderReport, roundOrder, targetsOf, type LevelMeasure, type SystemResult } from './peers-report.js';

const level = (concurrency: number, ordersPerS: number, p50: number, cpu: number | null, more: Partial<LevelMeasure> = {}): LevelMeasure => ({
  concurrency,
  orders: Math.round(ordersPerS * 10),
  orders_per_s: ordersPerS,
  p50_ms: p50,
  p95_ms: p50 * 2,
  p99_ms: p50 * 3,
  errors: 0,
  invariants_ok: true,
  cpu_ms_per_order: cpu,
  cpu_parts: cpu === null ? [] : [{ part: 'broker + gateway', ms_per_order: cpu / 2 }, { part: 'PostgreSQL', ms_per_order: cpu / 2 }],
  ...more,
});

const system = (id: string, levels: LevelMeasure[], extra: Partial<SystemResult> = {}): SystemResult => ({ id, label: id, levels, ...extra });

const LEVELS = [1, 8, 32];
const restate = system('restate', [level(1, 27, 35, 40), level(8, 60, 130, 30), level(32, 72, 440, 28)]);
const dbos = system('dbos', [level(1, 20, 44, 50), level(8, 50, 160, 40), level(32, 52, 600, 38)]);

const verdicts = (systems: SystemResult[], baseline = 75) => Object.fromEntries(targetsOf(systems, LEVELS, baseline).map((t) => [t.what, t.met]));

describe("issue 17's targets", () => {
  it('are met when ordersaga is ahead on every count', () => {
    const ours = system('ordersaga', [level(1, 30, 30, 20), level(8, 70, 110, 20), level(32, 80, 400, 20)]);
    expect(Object.values(verdicts([ours, restate, dbos]))).toEqual([true, true, true, null, null, true, true]);
  });

  it('are not met where ordersaga falls short, each on its own', () => {
    const ours = system('ordersaga', [level(1, 19, 50, 75), level(8, 26, 300, 75), level(32, 60, 1800, 75)]);
    const met = verdicts([ours, restate, dbos]);
    expect(met['c=32 orders/s, ordersaga ÷ Restate (target ≥ 1.0)']).toBe(false);
    // 60 / 52 = 1.15, short of 1.4.
    expect(met['c=32 orders/s, ordersaga ÷ DBOS (target ≥ 1.4)']).toBe(false);
    expect(met['c=1 p50, ordersaga vs Restate (target ≤)']).toBe(false);
    expect(met["c=32 CPU per order ≤ one third of 494df0c's 75 ms, measured in the same sitting"]).toBe(false);
    expect(met['every system: 0 errors and invariants ok at every level']).toBe(true);
  });

  it('cannot be judged without the peer, and an error or a violation anywhere fails the last', () => {
    const ours = system('ordersaga', [level(1, 30, 30, 20), level(8, 70, 110, 20, { errors: 2 }), level(32, 80, 400, 20)]);
    const met = verdicts([ours, system('restate', [], { failed: 'did not start' })]);
    expect(met['c=32 orders/s, ordersaga ÷ Restate (target ≥ 1.0)']).toBeNull();
    expect(met['c=1 p50, ordersaga vs Restate (target ≤)']).toBeNull();
    expect(met['every system: 0 errors and invariants ok at every level']).toBe(false);
    const violated = system('ordersaga', [level(1, 30, 30, 20), level(8, 70, 110, 20, { invariants_ok: false }), level(32, 80, 400, 20)]);
    expect(verdicts([violated, restate, dbos])['every system: 0 errors and invariants ok at every level']).toBe(false);
  });

  it('take the one-third CPU bound from the baseline given', () => {
    const ours = system('ordersaga', [level(1, 30, 30, 20), level(8, 70, 110, 20), level(32, 80, 400, 20)]);
    expect(verdicts([ours, restate, dbos], 75)["c=32 CPU per order ≤ one third of 494df0c's 75 ms, measured in the same sitting"]).toBe(true);
    expect(verdicts([ours, restate, dbos], 45)["c=32 CPU per order ≤ one third of 494df0c's 45 ms, measured in the same sitting"]).toBe(false);
    // Without a baseline measured in the same sitting, nothing is claimed.
    const unjudged = targetsOf([ours, restate, dbos], LEVELS, undefined).find((t) => t.what.includes('one third'));
    expect(unjudged).toMatchObject({ what: "c=32 CPU per order ≤ one third of 494df0c's, measured in the same sitting (BENCH_BASELINE_CPU_MS not given)", met: null });
  });
});

describe('the report', () => {
  const ours = system('ordersaga', [level(1, 19.1, 50.6, 80), level(8, 26.2, 300, 76), level(32, 25.7, 1803, 75)]);
  const skipped = system('ordersaga-node20', [], { label: 'ordersaga (Node 20)', skipped: 'no Node 20 on PATH outside node_modules' });
  const report = renderReport([ours, skipped, restate, dbos], LEVELS, targetsOf([ours, restate, dbos], LEVELS, 75), '## heading');

  it("has the issue's columns plus CPU per order, a row per system", () => {
    const lines = report.split('\n');
    expect(lines).toContain('| system | c=1 orders/s | c=1 p50 ms | c=8 orders/s | c=32 orders/s | c=32 p99 ms | c=32 CPU ms/order | errors | invariants |');
    expect(lines).toContain('| ordersaga | 19.1 | 50.6 | 26.2 | 25.7 | 5,409 | 75 | 0 | ok |');
    expect(lines.some((l) => l.startsWith('| ordersaga (Node 20) | not run: no Node 20 on PATH'))).toBe(true);
  });

  it('gives the ratios with their verdicts, and the Broker stand-in its own line', () => {
    expect(report).toContain('| c=32 orders/s, ordersaga ÷ Restate (target ≥ 1.0) | 0.36 | NOT met |');
    expect(report).toContain('| c=1 p50, ordersaga vs Restate (target ≤) | 50.6 ms vs 35 ms | NOT met |');
    expect(report).toContain('- ordersaga: Broker stand-in + gateway 37.5, PostgreSQL 37.5');
  });
});

describe('rounds', () => {
  it('run the systems forward, then reversed', () => {
    expect([0, 1, 2].map((r) => roundOrder(['a', 'b', 'c'], r).join(''))).toEqual(['abc', 'cba', 'abc']);
  });

  it("keep each system's round with the most orders per second at the highest level, all its levels from that round", () => {
    const slow = system('ordersaga', [level(1, 40, 20, 12), level(8, 90, 80, 10), level(32, 120, 300, 14)]);
    const fast = system('ordersaga', [level(1, 35, 22, 11), level(8, 100, 70, 9), level(32, 190, 170, 8)]);
    const restateFast = system('restate', [level(32, 170, 200, 9)]);
    const restateSlow = system('restate', [level(32, 150, 220, 10)]);
    const best = bestRounds([[slow, restateFast], [restateSlow, fast]], LEVELS);
    expect(best.map((r) => r.id)).toEqual(['ordersaga', 'restate']);
    expect(best[0]).toBe(fast);
    expect(best[1]).toBe(restateFast);
  });

  it('never hide a round that failed, had errors or broke an invariant', () => {
    const good = system('dbos', [level(32, 150, 200, 9)]);
    const errors = system('dbos', [level(32, 160, 200, 9, { errors: 3 })]);
    const violated = system('dbos', [level(32, 160, 200, 9, { invariants_ok: false })]);
    const failed = system('dbos', [], { failed: 'did not start' });
    expect(bestRounds([[good], [errors]], LEVELS)[0]).toBe(errors);
    expect(bestRounds([[violated], [good]], LEVELS)[0]).toBe(violated);
    expect(bestRounds([[good], [failed]], LEVELS)[0]).toBe(failed);
  });
});
