/**
 * How `npm start` begins and ends, as a user runs it: Ctrl-C in the middle
 * of a load (drain, then stop, and nothing lost on the next start), a port
 * another program holds, and a PostgreSQL that keeps crashing.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDb } from '../lib/db.js';
import { newId } from '../lib/ids.js';
import { checkInvariants } from '../lib/invariants.js';
import { createClient, waitUntilSettled } from './chaos/harness.js';
import { checkJourneys, letterProblems, prepareWorkload, type Journey, type Placed } from './chaos/journeys.js';
import { request } from './harness.js';
import { isAlive, runStartToExit, stackDataDir, startStackProcess, type RunningStack } from './stack-process.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The reconciler every second, for orders stalled 2 s: what the next start needs to finish the rest quickly. */
const QUICK_RECONCILER = { PING_INTERVAL_SECONDS: '1', RECONCILE_AFTER_SECONDS: '2' };

/**
 * Places each journey's order once, `concurrency` at a time, with no retry:
 * what got 201 or 202 was accepted. A worker stops at the first request the
 * stack no longer answers (it is stopping).
 */
function placeUntilRefused(stack: RunningStack, journeys: readonly Journey[], concurrency: number) {
  const accepted: Placed[] = [];
  let next = 0;
  let refused = 0;
  const worker = async () => {
    while (next < journeys.length) {
      const journey = journeys[next++]!;
      const { customer, slotId } = journey;
      const answer = await request(stack.gatewayUrl, 'POST', '/orders', {
        token: customer.token,
        body: { accountId: customer.id, slotId },
        headers: { 'idempotency-key': newId(), prefer: 'wait=2' },
      }).catch(() => undefined);
      if (answer?.status !== 201 && answer?.status !== 202) {
        refused += 1;
        return;
      }
      accepted.push({ journey, order: answer.body as Placed['order'] });
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return { accepted, refused: () => refused, done };
}

describe('npm start and Ctrl-C', () => {
  it('Ctrl-C during load drains the Broker before anything stops; after the next start every order accepted before it ends, and SPEC §7 holds', async () => {
    const dataDir = stackDataDir();
    try {
      const first = await startStackProcess({ ...QUICK_RECONCILER, ORDERSAGA_DATA_DIR: dataDir }, 90_000, { keepData: true });
      const { journeys } = await prepareWorkload(createClient(first.gatewayUrl, first.adminToken));
      const load = placeUntilRefused(first, journeys, 6);
      while (load.accepted.length < journeys.length / 3) await delay(10);
      const signalled = Date.now();
      await first.stop();
      const stopMs = Date.now() - signalled;
      await load.done;

      const log = first.records();
      const stopping = log.findIndex((r) => r.message === 'stopping');
      const drained = log.slice(stopping).filter((r) => r.message === 'delivery');
      console.log(
        `[stand-in] Ctrl-C after ${load.accepted.length} of ${journeys.length} orders accepted: stopped in ${stopMs} ms, ` +
          `${drained.length} deliveries made while draining, ${load.refused()} requests refused once stopping`,
      );
      expect(stopping).toBeGreaterThan(0);
      expect(log.at(-1)).toMatchObject({ message: 'stopped' });
      expect(log.filter((r) => /drain timed out|reply dropped|stop failed/.test(String(r.message)))).toEqual([]);
      // The signal struck deliveries in flight, and each was answered: the functions and the database were still up.
      expect(drained.length).toBeGreaterThan(0);
      expect(drained.filter((r) => r.outcome !== 'delivered' && r.outcome !== 'replied')).toEqual([]);
      expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

      const second = await startStackProcess({ ...QUICK_RECONCILER, ORDERSAGA_DATA_DIR: dataDir }, 90_000, { keepData: true });
      const db = createDb({ url: second.databaseUrl, poolMax: 2 });
      try {
        const settlement = await waitUntilSettled(db, 60_000);
        expect(settlement).toMatchObject({ settled: true, pending: 0, unnotified: 0 });
        const ids = load.accepted.map((p) => p.order.id);
        const ended = (await db('orders').whereIn('id', ids).whereIn('status', ['confirmed', 'cancelled']).count<{ n: number }[]>('* as n'))[0]!;
        expect(Number(ended.n)).toBe(ids.length);
        expect((await checkInvariants(db, { settled: true })).violations).toEqual([]);
        expect(await checkJourneys(db, createClient(second.gatewayUrl, second.adminToken), load.accepted)).toEqual([]);
        expect(await letterProblems(db)).toEqual([]);
      } finally {
        await db.destroy();
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('a port held by another program stops the start at once with the variable to change, and starts nothing', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    const dataDir = stackDataDir();
    try {
      const run = await runStartToExit({ ORDERSAGA_DATA_DIR: dataDir, BROKER_PORT: String(port) });
      expect(run.code).toBe(1);
      expect(run.output.trim()).toBe(`ordersaga: port ${port} (the Broker ingress) is taken by another program: set BROKER_PORT to a free port (0 picks one)`);
      // No database, no functions, no state, and the folder is free again.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a PostgreSQL that crashes three times in a row stops the stack with a clear message and exit code 1', async () => {
    const stack = await startStackProcess();
    try {
      const functions = stack.processes.map((p) => p.pid);
      const killed: number[] = [];
      const back = () => stack.records().filter((r) => r.message === 'PostgreSQL is back').length;
      for (let crash = 1; crash <= 3; crash++) {
        // Each kill strikes a server that was back and ready (killing one still starting is a failed start, not a crash).
        for (let i = 0; i < 300 && back() < crash - 1; i++) await delay(50);
        expect(back()).toBe(crash - 1);
        const pid = stack.postgresPid()!;
        expect(killed).not.toContain(pid);
        killed.push(pid);
        process.kill(pid, 'SIGKILL');
      }
      const code = await Promise.race([stack.exited, delay(60_000).then(() => 'still running')]);
      expect(code).toBe(1);
      const log = stack.records();
      expect(log).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 'error', message: 'PostgreSQL keeps crashing: stopping ordersaga', reason: expect.stringMatching(/3 crashes in a row/) }),
          expect.objectContaining({ message: 'stopped' }),
        ]),
      );
      expect([...functions, stack.pid, ...killed].filter(isAlive)).toEqual([]);
      expect(stack.postgresPid()).toBeUndefined();
    } finally {
      await stack.stop();
    }
  }, 120_000);
});
