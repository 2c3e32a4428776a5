/**
 * SPEC §1's journeys against the stack started as a user starts it, through
 * the gateway and the Broker ingress, exactly as in a cluster.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../lib/ids.js';
import { request } from './harness.js';
import { isAlive, startStackProcess, type RunningStack } from './stack-process.js';

describe('npm start, end to end', () => {
  let stack: RunningStack;
  let exitCode: number | null | undefined;

  beforeAll(async () => {
    stack = await startStackProcess();
  }, 120_000);
  afterAll(async () => {
    if (exitCode === undefined) await stack.stop();
  });

  const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) => request(stack.gatewayUrl, method, path, options);

  async function customer(balance: number) {
    const created = await api('POST', '/accounts', { body: { email: `${newId()}@example.com`, name: 'Journey' } });
    expect(created.status).toBe(201);
    const account = created.body as { id: string; token: string };
    if (balance > 0) {
      const dep = await api('POST', `/accounts/${account.id}/deposits`, { token: account.token, body: { amount: balance }, headers: { 'idempotency-key': newId() } });
      expect(dep.status).toBe(201);
    }
    return account;
  }

  async function slot(capacity: number, price: number) {
    const res = await api('POST', '/slots', { token: stack.adminToken, body: { name: 'Race', capacity, price } });
    expect(res.status).toBe(201);
    return (res.body as { id: string }).id;
  }

  async function order(account: { id: string; token: string }, slotId: string) {
    const res = await api('POST', '/orders', {
      token: account.token,
      body: { accountId: account.id, slotId },
      headers: { 'idempotency-key': newId(), prefer: 'wait=20' },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; status: string; reason: string | null };
  }

  async function balance(account: { id: string; token: string }) {
    return ((await api('GET', `/accounts/${account.id}`, { token: account.token })).body as { balance: number }).balance;
  }

  async function letters(account: { id: string; token: string }) {
    // The letter follows the terminal status by one hop; allow it a moment.
    for (let i = 0; i < 100; i++) {
      const res = await api('GET', `/accounts/${account.id}/notifications`, { token: account.token });
      const list = res.body as { orderId: string; type: string; body: string }[];
      if (list.length > 0) return list;
      await new Promise((r) => setTimeout(r, 50));
    }
    return [];
  }

  it('an affordable order is confirmed, the balance drops, and the happy letter arrives', async () => {
    const ada = await customer(10_000);
    const slotId = await slot(5, 3_000);
    const placed = await order(ada, slotId);
    expect(placed).toMatchObject({ status: 'confirmed', reason: null });
    expect(await balance(ada)).toBe(7_000);
    expect(await letters(ada)).toEqual([expect.objectContaining({ orderId: placed.id, type: 'happy' })]);
  });

  it('an unaffordable order is cancelled, the balance unchanged, and the sorrow letter arrives', async () => {
    const bo = await customer(1_000);
    const slotId = await slot(5, 3_000);
    const placed = await order(bo, slotId);
    expect(placed).toMatchObject({ status: 'cancelled', reason: 'insufficient_funds' });
    expect(await balance(bo)).toBe(1_000);
    expect(await letters(bo)).toEqual([expect.objectContaining({ orderId: placed.id, type: 'sorrow' })]);
    const s = (await api('GET', `/slots/${slotId}`)).body as { reserved: number };
    expect(s.reserved).toBe(0);
  });

  it('when capacity is exhausted, the next order is cancelled sold_out', async () => {
    const cy = await customer(10_000);
    const slotId = await slot(1, 1_000);
    expect((await order(cy, slotId)).status).toBe('confirmed');
    expect(await order(cy, slotId)).toMatchObject({ status: 'cancelled', reason: 'sold_out' });
    expect(await balance(cy)).toBe(9_000);
  });

  it('an order.requested CloudEvent sent to the Broker ingress ends confirmed', async () => {
    const di = await customer(5_000);
    const slotId = await slot(2, 2_000);
    const orderId = newId();
    const event = new CloudEvent({ id: newId(), source: '/e2e/kn', type: 'dev.ordersaga.order.requested', datacontenttype: 'application/json', data: { accountId: di.id, slotId, orderId } });
    const message = HTTP.binary(event);
    const res = await fetch(stack.brokerUrl, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
    expect(res.status).toBe(202);
    let status = 'pending';
    for (let i = 0; i < 200 && status === 'pending'; i++) {
      const got = await api('GET', `/orders/${orderId}`, { token: di.token });
      status = got.status === 200 ? (got.body as { status: string }).status : 'pending';
      if (status === 'pending') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('confirmed');
    expect(await balance(di)).toBe(3_000);
  });

  it('logs one line per delivery', () => {
    const deliveries = stack
      .output()
      .split('\n')
      .filter((l) => l.includes('"message":"delivery"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(deliveries.length).toBeGreaterThan(10);
    expect(deliveries[0]).toEqual(expect.objectContaining({ trigger: expect.any(String), type: expect.any(String), id: expect.any(String), subscriber: expect.any(String), status: expect.any(Number), attempt: expect.any(Number), ms: expect.any(Number) }));
  });

  it('Ctrl-C drains and stops everything, leaving no process behind', async () => {
    const pids = stack.processes.map((p) => p.pid);
    expect(pids.every(isAlive)).toBe(true);
    exitCode = await stack.stop();
    expect(stack.output()).toMatch(/"message":"stopping".*\n.*"message":"stopped"/s);
    expect(stack.output()).not.toMatch(/stop failed/);
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
