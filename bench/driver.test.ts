import { describe, expect, it } from 'vitest';
import { benchSettings, closedLoop, percentile } from './driver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the closed-loop driver', () => {
  it('keeps exactly `concurrency` orders in flight until the time is up', async () => {
    let inFlight = 0;
    let most = 0;
    const result = await closedLoop(4, 0.3, async () => {
      most = Math.max(most, ++inFlight);
      await sleep(10);
      inFlight--;
    });
    expect(most).toBe(4);
    expect(result.errors).toBe(0);
    // ~30 rounds of 4; a loaded machine runs fewer, never more.
    expect(result.latencies.length).toBeGreaterThan(20);
    expect(result.latencies.length).toBeLessThanOrEqual(4 * 31);
    expect(result.elapsed).toBeGreaterThanOrEqual(0.3);
    expect(result.latencies).toEqual([...result.latencies].sort((a, b) => a - b));
  });

  it('counts an order that throws as an error, untimed, and keeps a few of the messages', async () => {
    const result = await closedLoop(2, 0.1, async (_worker, sequence) => {
      await sleep(5);
      if (sequence % 2 === 1) throw new Error(`order ${sequence} failed`);
    });
    expect(result.errors).toBeGreaterThan(0);
    expect(Math.abs(result.errors - result.latencies.length)).toBeLessThanOrEqual(2);
    expect(result.errorSamples.length).toBe(Math.min(5, result.errors));
    expect(result.errorSamples[0]).toMatch(/^order \d*[13579] failed$/);
  });

  it('numbers the orders of all workers in one sequence', async () => {
    const seen: number[] = [];
    await closedLoop(3, 0.05, async (_worker, sequence) => {
      seen.push(sequence);
      await sleep(2);
    });
    expect([...seen].sort((a, b) => a - b)).toEqual(seen.map((_, i) => i));
  });
});

describe('percentile', () => {
  it.each([
    [[], 50, 0],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 75, 3],
    [[1, 2, 3, 4], 100, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
  ])('of %j at p%d is %d (nearest rank)', (sorted, p, expected) => {
    expect(percentile(sorted, p)).toBe(expected);
  });
});

describe('benchSettings', () => {
  it('defaults to levels 1, 8 and 32 of 10 s after a 5 s warm-up', () => {
    expect(benchSettings({})).toEqual({ levels: [1, 8, 32], seconds: 10, warmupSeconds: 5 });
  });

  it('reads BENCH_LEVELS, BENCH_SECONDS and BENCH_WARMUP_SECONDS', () => {
    expect(benchSettings({ BENCH_LEVELS: '2, 4', BENCH_SECONDS: '3', BENCH_WARMUP_SECONDS: '0' })).toEqual({ levels: [2, 4], seconds: 3, warmupSeconds: 0 });
  });

  it.each([{ BENCH_LEVELS: '1,x' }, { BENCH_LEVELS: '0' }, { BENCH_LEVELS: '' }, { BENCH_SECONDS: '0' }, { BENCH_SECONDS: 'ten' }, { BENCH_WARMUP_SECONDS: '-1' }])(
    'refuses %j at once',
    (env) => {
      expect(() => benchSettings(env)).toThrow(/BENCH_/);
    },
  );
});
