/**
 * The side-by-side table of `npm run bench:peers`: a row per system, the
 * ratios of ordersaga to its peers, and whether issue 17's targets hold.
 */
import { round } from './driver.js';

export interface LevelMeasure {
  concurrency: number;
  orders: number;
  orders_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
  invariants_ok: boolean;
  /** CPU of the system's processes and PostgreSQL's, per order; null when no order succeeded. */
  cpu_ms_per_order: number | null;
  /** The same, part by part, busiest first (PostgreSQL among them). */
  cpu_parts: { part: string; ms_per_order: number }[];
}

export interface SystemResult {
  id: string;
  label: string;
  levels: LevelMeasure[];
  /** Why the system was not measured (not available here), or how it failed. */
  skipped?: string;
  failed?: string;
}

export interface Target {
  what: string;
  value: string;
  met: boolean | null;
}

const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? '—' : round(n, digits).toLocaleString('en-US'));
const mark = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'NOT met');

/**
 * The systems' order in round `round` (0-based): as listed, then reversed,
 * and so on, so that each system is measured early in one round and late in
 * the next and a machine whose load drifts favours none of them.
 */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...systems] : [...systems].reverse();
}

/**
 * Each system's best round: the one with the most orders per second at the
 * highest level, all its levels from that one round. Noise on a shared
 * machine only ever slows a system down, so the best round is the nearest to
 * what it costs. A round that failed, had errors or broke an invariant is
 * never hidden: that round is the system's result.
 */
export function bestRounds(rounds: SystemResult[][], levels: number[]): SystemResult[] {
  const high = Math.max(...levels);
  const score = (r: SystemResult) => (r.skipped || r.failed ? -1 : (levelOf(r, high)?.orders_per_s ?? -1));
  const ids = [...new Set(rounds.flat().map((r) => r.id))];
  return ids.map((id) => {
    const tries = rounds.flatMap((round) => round.filter((r) => r.id === id));
    const broken = tries.find((r) => r.failed || r.levels.some((l) => l.errors > 0 || !l.invariants_ok));
    if (broken) return broken;
    return tries.reduce((best, r) => (score(r) > score(best) ? r : best));
  });
}

/** The part a reader looks for: the stand-in for Knative's data plane, on a line of its own. */
export const partLabel = (part: string) => (part === 'broker + gateway' ? 'Broker stand-in + gateway' : part);

function levelOf(system: SystemResult | undefined, concurrency: number): LevelMeasure | undefined {
  return system?.levels.find((l) => l.concurrency === concurrency);
}

/**
 * The targets of issue 17. `baselineCpuMs` is 494df0c's CPU per order at the
 * highest level, measured in the same sitting (its own `npm run bench`);
 * without it the one-third target cannot be judged.
 */
export function targetsOf(systems: SystemResult[], levels: number[], baselineCpuMs: number | undefined): Target[] {
  const low = Math.min(...levels);
  const high = Math.max(...levels);
  const ours = levelOf(systems.find((s) => s.id === 'ordersaga'), high);
  const restate = levelOf(systems.find((s) => s.id === 'restate'), high);
  const dbos = levelOf(systems.find((s) => s.id === 'dbos'), high);
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? a / b : null);
  const atLeast = (r: number | null, bound: number) => (r === null ? null : r >= bound);
  const throughputRestate = ratio(ours?.orders_per_s, restate?.orders_per_s);
  const throughputDbos = ratio(ours?.orders_per_s, dbos?.orders_per_s);
  const oursLow = levelOf(systems.find((s) => s.id === 'ordersaga'), low);
  const restateLow = levelOf(systems.find((s) => s.id === 'restate'), low);
  const measured = systems.filter((s) => !s.skipped);
  const clean = measured.every((s) => !s.failed && s.levels.length === levels.length && s.levels.every((l) => l.errors === 0 && l.invariants_ok));
  return [
    { what: `c=${high} orders/s, ordersaga ÷ Restate (target ≥ 1.0)`, value: fmt(throughputRestate, 2), met: atLeast(throughputRestate, 1.0) },
    { what: `c=${high} orders/s, ordersaga ÷ DBOS (target ≥ 1.4)`, value: fmt(throughputDbos, 2), met: atLeast(throughputDbos, 1.4) },
    {
      what: `c=${low} p50, ordersaga vs Restate (target ≤)`,
      value: `${fmt(oursLow?.p50_ms)} ms vs ${fmt(restateLow?.p50_ms)} ms`,
      met: oursLow && restateLow ? oursLow.p50_ms <= restateLow.p50_ms : null,
    },
    { what: `c=${high} CPU per order, ordersaga ÷ Restate`, value: fmt(ratio(ours?.cpu_ms_per_order, restate?.cpu_ms_per_order), 2), met: null },
    { what: `c=${high} CPU per order, ordersaga ÷ DBOS`, value: fmt(ratio(ours?.cpu_ms_per_order, dbos?.cpu_ms_per_order), 2), met: null },
    baselineCpuMs === undefined
      ? {
          what: `c=${high} CPU per order ≤ one third of 494df0c's, measured in the same sitting (BENCH_BASELINE_CPU_MS not given)`,
          value: `${fmt(ours?.cpu_ms_per_order)} ms`,
          met: null,
        }
      : {
          what: `c=${high} CPU per order ≤ one third of 494df0c's ${fmt(baselineCpuMs)} ms, measured in the same sitting`,
          value: `${fmt(ours?.cpu_ms_per_order)} ms (${fmt(ratio(ours?.cpu_ms_per_order, baselineCpuMs), 2)}×)`,
          met: ours?.cpu_ms_per_order ? ours.cpu_ms_per_order <= baselineCpuMs / 3 : null,
        },
    { what: 'every system: 0 errors and invariants ok at every level', value: clean ? 'yes' : 'no', met: clean },
  ];
}

/** The Markdown report: the side-by-side table, the targets, then each level and each system's CPU by part. */
export function renderReport(systems: SystemResult[], levels: number[], targets: Target[], heading: string): string {
  const low = Math.min(...levels);
  const high = Math.max(...levels);
  const middle = levels.filter((c) => c !== low && c !== high);
  const header = ['system', `c=${low} orders/s`, `c=${low} p50 ms`, ...middle.map((c) => `c=${c} orders/s`)];
  if (high !== low) header.push(`c=${high} orders/s`);
  header.push(`c=${high} p99 ms`, `c=${high} CPU ms/order`, 'errors', 'invariants');
  const rows = systems.map((s) => {
    if (s.skipped || s.failed) return [s.label, `${s.skipped ? 'not run' : 'failed'}: ${s.skipped ?? s.failed}`, ...header.slice(2).map(() => '')];
    const at = (c: number) => levelOf(s, c);
    const cells = [s.label, fmt(at(low)?.orders_per_s), fmt(at(low)?.p50_ms), ...middle.map((c) => fmt(at(c)?.orders_per_s))];
    if (high !== low) cells.push(fmt(at(high)?.orders_per_s));
    cells.push(fmt(at(high)?.p99_ms), fmt(at(high)?.cpu_ms_per_order), String(s.levels.reduce((n, l) => n + l.errors, 0)), s.levels.every((l) => l.invariants_ok) ? 'ok' : 'VIOLATED');
    return cells;
  });
  const table = (head: string[], body: string[][]) =>
    [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const detail = systems.flatMap((s) =>
    s.levels.map((l) => [s.label, String(l.concurrency), fmt(l.orders_per_s), fmt(l.p50_ms), fmt(l.p95_ms), fmt(l.p99_ms), String(l.errors), fmt(l.cpu_ms_per_order), l.invariants_ok ? 'ok' : 'VIOLATED']),
  );
  const cpu = systems
    .filter((s) => levelOf(s, high))
    .map((s) => {
      const parts = levelOf(s, high)!.cpu_parts.filter((p) => p.ms_per_order >= 0.05);
      return `- ${s.label}: ${parts.map((p) => `${partLabel(p.part)} ${fmt(p.ms_per_order)}`).join(', ')}`;
    });
  return [
    heading,
    '',
    table(header, rows),
    '',
    table(['target (issue 17)', 'measured', ''], targets.map((t) => [t.what, t.value, mark(t.met)])),
    '',
    '### Every level',
    '',
    table(['system', 'concurrency', 'orders/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'CPU ms/order', 'invariants'], detail),
    '',
    `### CPU ms per order at c=${high}, by part (PostgreSQL included)`,
    '',
    ...cpu,
    '',
  ].join('\n');
}
