/**
 * The k6 scripts themselves, run on Node (./node/run.ts stands in for k6)
 * against the stack as `npm start` starts it, PingSources firing every
 * second: short runs, every check and threshold as in a real one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStackProcess, type RunningStack } from '../test/stack-process.js';
import { EXIT, runK6, summarize, type RunResult } from './node/run.js';

const count = (result: RunResult, metric: string) => result.store.select(metric).reduce((n, s) => n + s.value, 0);

describe('the k6 scripts against npm start', () => {
  let stack: RunningStack;
  const log: string[] = [];

  beforeAll(async () => {
    stack = await startStackProcess({ PING_INTERVAL_SECONDS: '1' });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const env = () => ({ BASE_URL: stack.gatewayUrl, BROKER_URL: stack.brokerUrl, ADMIN_TOKEN: stack.adminToken, SMOKE: '1' });

  it('saga.js passes, and its waiting orders end every way: confirmed on a deposit, cancelled by their owner, timed out', async () => {
    const result = await runK6('load/saga.js', { ...env(), DURATION: '4s', TICK_SECONDS: '1', TIMEOUT_PAY_WITHIN: '2' }, (l) => log.push(l));
    const report = [...summarize(result), ...log].join('\n');
    expect(result.exitCode, report).toBe(EXIT.ok);
    expect(result.iterationErrors, report).toEqual([]);
    expect(count(result, 'invariant_violations')).toBe(0);
    // Four waiting iterations, each with one order of each end.
    expect(result.store.select('iterations', { scenario: 'waiting' })).toHaveLength(4);
    expect(count(result, 'orders_cancelled_customer_cancelled')).toBe(4);
    expect(count(result, 'orders_cancelled_payment_timeout')).toBe(4);
    expect(result.store.select('resume_ms')).toHaveLength(4);
    expect(result.thresholds.map((t) => t.metric)).toContain('resume_ms');
  }, 120_000);

  it('idempotency.js passes', async () => {
    const result = await runK6('load/idempotency.js', env(), (l) => log.push(l));
    expect(result.exitCode, [...summarize(result), ...log].join('\n')).toBe(EXIT.ok);
    expect(result.iterationErrors).toEqual([]);
  }, 120_000);
});
