/**
 * The closed-loop driver both benches use (`npm run bench`, `npm run
 * bench:peers`): `concurrency` workers, each with exactly one order in flight,
 * for a fixed time; an order counts when it has reached its terminal status.
 * Also the settings every bench reads from the environment, the HTTP client
 * every system is driven with, and the settled invariant check after a level.
 */
import http from 'node:http';
import axios from 'axios';
import { createDb } from '../lib/db.js';
import { checkInvariants, type InvariantReport } from '../lib/invariants.js';

/** One bench's levels and timings, from BENCH_LEVELS, BENCH_SECONDS, BENCH_WARMUP_SECONDS. */
export interface BenchSettings {
  levels: number[];
  seconds: number;
  warmupSeconds: number;
}

export function benchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const levels = (env.BENCH_LEVELS ?? '1,8,32').split(',').map((s) => Number(s.trim()));
  if (levels.length === 0 || levels.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`BENCH_LEVELS must be a comma-separated list of positive integers, not ${JSON.stringify(env.BENCH_LEVELS)}`);
  }
  const seconds = Number(env.BENCH_SECONDS ?? 10);
  // Long enough for every process to compile its hot paths.
  const warmupSeconds = Number(env.BENCH_WARMUP_SECONDS ?? 5);
  if (!(seconds > 0)) throw new Error(`BENCH_SECONDS must be a positive number, not ${JSON.stringify(env.BENCH_SECONDS)}`);
  if (!(warmupSeconds >= 0)) throw new Error(`BENCH_WARMUP_SECONDS must be 0 or more, not ${JSON.stringify(env.BENCH_WARMUP_SECONDS)}`);
  return { levels, seconds, warmupSeconds };
}

/**
 * The HTTP client that drives every system: keep-alive, every status
 * answered (the caller judges it), no redirects, so that Node's http is used
 * directly (the follow-redirects wrapper would add its own cost to the latency).
 */
export const benchClient = axios.create({
  httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  validateStatus: () => true,
  timeout: 60_000,
  maxRedirects: 0,
});

/** POSTs `body` as JSON; resolves with the status and the parsed answer. */
export async function postJson<T = Record<string, unknown>>(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await benchClient.post<T>(url, body, { headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: res.data };
}

export interface LoopResult {
  /** Milliseconds from start to terminal status of every order that succeeded, ascending. */
  latencies: number[];
  errors: number;
  /** The first few errors, to say what went wrong. */
  errorSamples: string[];
  /** Seconds from the first order to the last answer. */
  elapsed: number;
}

/**
 * Runs `concurrency` workers for `seconds`: each calls `order(worker, sequence)`
 * again as soon as the previous call settles (a closed loop), where `sequence`
 * counts the orders started by all workers. A call that throws is an error;
 * one that resolves is timed.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  order: (worker: number, sequence: number) => Promise<void>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let sequence = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await order(worker, sequence++);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push((err as Error).message);
        }
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), errors, errorSamples, elapsed: (performance.now() - started) / 1000 };
}

/** The nearest-rank percentile `p` (0-100] of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Waits until every order in the database at `url` is terminal and notified,
 * then reports SPEC §7's invariants. Gives up waiting after `waitMs`, or at
 * once on a violation that waiting cannot mend (anything but 4 and 5).
 */
export async function settledInvariants(url: string, waitMs = 30_000): Promise<InvariantReport> {
  const db = createDb({ url, poolMax: 2, applicationName: 'bench-invariants' });
  try {
    const until = Date.now() + waitMs;
    for (;;) {
      const report = await checkInvariants(db, { settled: true });
      if (report.ok || Date.now() >= until) return report;
      if (report.violations.some((v) => v.invariant !== 4 && v.invariant !== 5)) return report;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await db.destroy();
  }
}
