/**
 * The k6 scripts' settings and requests (./lib.js), called from Node: the
 * waiting scenario's settings and the requests its journey sends.
 */
import { describe, expect, it } from 'vitest';
import { ID } from './fixtures.js';
import { SettingsError, TIMEOUT_MARGIN_MS, cancelOrderRequest, durationSeconds, listOrdersRequest, placeOrderRequest, readSagaSettings } from './lib.js';

const ENV = { ADMIN_TOKEN: 'admin-token' };
const who = { id: ID(1), token: 'tok' };

describe('durationSeconds', () => {
  it.each([
    ['15s', 15],
    ['2m', 120],
    ['1h30m', 5400],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['2h', 7200],
  ])('%s is %d seconds', (text, seconds) => expect(durationSeconds(text)).toBe(seconds));
});

describe('readSagaSettings: the waiting scenario', () => {
  it('a smoke run opens one account per waiting iteration and sees no time-out with a cluster tick', () => {
    const s = readSagaSettings({ ...ENV, SMOKE: '1' });
    expect(s).toMatchObject({ waitingRate: 1, waitingAccounts: 15, tickSeconds: 60, timeoutPayWithin: 5, waitPayWithin: 300, teardownWaitMs: 20000 });
    // 5 s + a 60 s tick + the margin do not fit in a smoke teardown: no order is left to time out.
    expect(s.timeouts).toBe(false);
  });

  it('a smoke run with a one-second tick leaves orders to time out', () => {
    const s = readSagaSettings({ ...ENV, SMOKE: '1', TICK_SECONDS: '1' });
    expect(s.timeouts).toBe(true);
  });

  it('a full run stretches teardown to see a time-out end: payWithin + one tick + the margin', () => {
    const s = readSagaSettings({ ...ENV, DURATION: '1m', WAITING_RATE: '2' });
    expect(s.teardownWaitMs).toBe((5 + 60) * 1000 + TIMEOUT_MARGIN_MS);
    expect(s.timeouts).toBe(true);
    expect(s.waitingAccounts).toBe(120);
  });

  it('a TEARDOWN_WAIT_MS too short for a time-out plans none; WAITING_RATE=0 plans no waiting iteration', () => {
    expect(readSagaSettings({ ...ENV, TEARDOWN_WAIT_MS: '30000' }).timeouts).toBe(false);
    expect(readSagaSettings({ ...ENV, WAITING_RATE: '0' })).toMatchObject({ waitingRate: 0, waitingAccounts: 0 });
  });

  it.each([
    ['WAITING_RATE', '-1'],
    ['WAITING_RATE', 'one'],
    ['TICK_SECONDS', '0'],
    ['TIMEOUT_PAY_WITHIN', '0'],
    ['WAIT_PAY_WITHIN', '59'],
    ['RESUME_P95_MS', '1.5'],
  ])('%s=%s stops the run before it starts', (name, value) => {
    expect(() => readSagaSettings({ ...ENV, [name]: value })).toThrow(SettingsError);
    expect(() => readSagaSettings({ ...ENV, [name]: value })).toThrow(name);
  });
});

describe('the waiting journey’s requests', () => {
  it('POST /orders names payWithin when asked', () => {
    const spec = placeOrderRequest('http://api', who, { slotId: ID(3), seats: 2, payWithin: 300 }, 'key', undefined);
    expect(JSON.parse(spec.body!)).toEqual({ accountId: who.id, slotId: ID(3), seats: 2, payWithin: 300 });
    expect(spec.params.headers).not.toHaveProperty('prefer');
  });

  it('POST /orders/{id}/cancel has no body, the owner’s token, and one metric name for every order', () => {
    const spec = cancelOrderRequest('http://api', who, ID(2), [409]);
    expect(spec).toMatchObject({ method: 'POST', url: `http://api/orders/${ID(2)}/cancel`, body: null, expect: [409] });
    expect(spec.params.headers.authorization).toBe('Bearer tok');
    expect(spec.params.tags).toEqual({ name: 'POST /orders/{id}/cancel', op: 'api' });
  });

  it('GET /accounts/{id}/orders takes ?status=, under the same metric name', () => {
    expect(listOrdersRequest('http://api', who, 'awaiting_funds').url).toBe(`http://api/accounts/${who.id}/orders?status=awaiting_funds`);
    expect(listOrdersRequest('http://api', who).url).toBe(`http://api/accounts/${who.id}/orders`);
    expect(listOrdersRequest('http://api', who, 'awaiting_funds').params.tags.name).toBe('GET /accounts/{id}/orders');
  });
});
