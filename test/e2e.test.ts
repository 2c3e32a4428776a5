/**
 * SPEC §1's journeys against the stack started as a user starts it, through
 * the gateway and the Broker ingress, exactly as in a cluster; then what
 * the stand-in does about a second start on its folder, a PostgreSQL killed
 * outright, and Ctrl-C.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../lib/ids.js';
import { LOCK_FILE } from '../local/lock.js';
import { request } from './harness.js';
import { isAlive, runStartToExit, startStackProcess, type RunningStack } from './stack-process.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The last lines of each function's log, for a failure's message. */
function logTails(dataDir: string, lines = 8): string[] {
  const dir = path.join(dataDir, 'logs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((file) => `${file}:\n${readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`);
}

describe('npm start, end to end', () => {
  let stack: RunningStack;
  let exitCode: number | null | undefined;

  beforeAll(async () => {
    // The folder outlives the stack, to show what the stop left in it.
    stack = await startStackProcess({}, 90_000, { keepData: true });
  }, 120_000);
  afterAll(async () => {
    if (exitCode === undefined) await stack.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
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

  let brokered: { orderId: string; eventId: string; token: string } | undefined;

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
    brokered = { orderId, eventId: event.id, token: di.token };
  });

  it("logs one line per delivery: each step of that order's saga, with its Trigger, status and outcome", async () => {
    const { orderId, eventId, token } = brokered!;
    let deliveries = stack.records().filter((r) => r.message === 'delivery');
    const lineOf = (id: string, trigger: string) => deliveries.filter((r) => r.id === id && r.trigger === trigger);
    // The command, then every event of its saga that a Trigger routes on (the letter's event ends it).
    const history = ((await api('GET', `/orders/${orderId}`, { token })).body as { history: { eventId: string; eventType: string }[] }).history;
    const steps = [
      { id: eventId, trigger: 'place-order-on-order-requested' },
      ...history.filter((h) => h.eventType !== 'dev.ordersaga.notification.sent').map((h) => ({ id: h.eventId, type: h.eventType })),
    ];
    const triggerOf: Record<string, string> = {
      'dev.ordersaga.order.placed': 'reserve-slot-on-order-placed',
      'dev.ordersaga.slot.reserved': 'charge-on-slot-reserved',
      'dev.ordersaga.payment.charged': 'place-order-on-payment-charged',
      'dev.ordersaga.order.confirmed': 'notify-on-order-confirmed',
    };
    expect(steps.map((s) => ('type' in s ? s.type : 'dev.ordersaga.order.requested'))).toEqual([
      'dev.ordersaga.order.requested',
      ...Object.keys(triggerOf),
    ]);
    const triggered = steps.map((step) => ({ id: step.id, trigger: 'trigger' in step ? step.trigger : triggerOf[step.type]! }));
    // The order is confirmed before its letter is written: the last delivery may still be on its way.
    for (let i = 0; i < 100 && triggered.some((step) => lineOf(step.id, step.trigger).length === 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      deliveries = stack.records().filter((r) => r.message === 'delivery');
    }
    for (const { id, trigger } of triggered) {
      const [line, ...more] = lineOf(id, trigger);
      expect(more, `${trigger} ${id} logged once`).toEqual([]);
      expect(line, `${trigger} ${id}`).toEqual(
        expect.objectContaining({ subscriber: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+/), status: 200, attempt: 1, ms: expect.any(Number), outcome: 'replied' }),
      );
    }
  });

  it('a second npm start from the same folder is refused at once, touching nothing, while the first keeps answering 200', async () => {
    const postgresPid = stack.postgresPid();
    const lock = readFileSync(path.join(stack.dataDir, LOCK_FILE), 'utf8');
    // The same ports too: the lock is checked before anything else.
    const [gatewayPort, brokerPort] = [stack.gatewayUrl, stack.brokerUrl].map((u) => new URL(u).port);
    const second = await runStartToExit({ ORDERSAGA_DATA_DIR: stack.dataDir, GATEWAY_PORT: gatewayPort!, BROKER_PORT: brokerPort! });
    expect(second.code).toBe(1);
    expect(second.output.trim()).toBe(`ordersaga is already running from this folder (pid ${stack.pid}, API ${stack.gatewayUrl})`);
    expect(stack.postgresPid()).toBe(postgresPid);
    expect(readFileSync(path.join(stack.dataDir, LOCK_FILE), 'utf8')).toBe(lock);
    expect(stack.processes.map((p) => p.pid).every(isAlive)).toBe(true);
    expect((await api('GET', '/slots')).status).toBe(200);
    const ada = await customer(5_000);
    expect((await order(ada, await slot(1, 1_000))).status).toBe('confirmed');
  }, 60_000);

  it('kill -9 of PostgreSQL: the stand-in logs it and restarts it, the API answers 200 again within 15 s, and the saga runs on', async () => {
    const bo = await customer(5_000);
    const killed = stack.postgresPid()!;
    expect(killed).toBeGreaterThan(0);
    process.kill(killed, 'SIGKILL');
    const struck = Date.now();
    // Back means a new server and a 200 through a function's pool (an answer before the old server died does not count).
    let status = 0;
    while (Date.now() - struck < 15_000) {
      const restarted = ![undefined, killed].includes(stack.postgresPid());
      status = await api('GET', `/accounts/${bo.id}`, { token: bo.token }).then((r) => r.status, () => 0);
      if (restarted && status === 200) break;
      await delay(100);
    }
    const downMs = Date.now() - struck;
    console.log(`[e2e] PostgreSQL pid ${killed} killed: the API answered 200 again ${downMs} ms later`);
    expect(status).toBe(200);
    expect(downMs).toBeLessThan(15_000);
    expect(stack.postgresPid()).not.toBe(killed);
    expect(stack.records()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'error', message: 'PostgreSQL exited unexpectedly; restarting it (crash recovery)', postgresPid: killed, signal: 'SIGKILL' }),
        expect.objectContaining({ message: 'PostgreSQL is back', postgresPid: stack.postgresPid() }),
      ]),
    );
    // Every function's pool reconnected: a whole journey goes through each of them again.
    const placed = await order(bo, await slot(2, 2_000));
    expect(placed.status).toBe('confirmed');
    expect(await balance(bo)).toBe(3_000);
    expect(await letters(bo)).toEqual([expect.objectContaining({ orderId: placed.id, type: 'happy' })]);
    // A database outage is transient: no function process died of it.
    expect(stack.processes.map((p) => p.pid).every(isAlive)).toBe(true);
  }, 60_000);

  it('Ctrl-C drains and stops everything, PostgreSQL last, leaving no process behind and the folder unlocked', async () => {
    const pids = stack.processes.map((p) => p.pid);
    const postgresPid = stack.postgresPid()!;
    expect([...pids, postgresPid, stack.pid].every(isAlive)).toBe(true);
    // npm's own code: it ends by the same Ctrl-C; the stand-in's "stopped" line says how it ended.
    exitCode = await stack.stop();
    // On a failure, say what the stand-in and the functions last said.
    const said = () => [stack.output().split('\n').slice(-15).join('\n'), ...logTails(stack.dataDir)].join('\n');
    expect(stack.output(), said()).toMatch(/"message":"stopping".*\n.*"message":"stopped"/s);
    expect(stack.output(), said()).not.toMatch(/stop failed|drain timed out/);
    expect([...pids, postgresPid, stack.pid].filter(isAlive)).toEqual([]);
    expect(existsSync(path.join(stack.dataDir, LOCK_FILE))).toBe(false);
  });
});
