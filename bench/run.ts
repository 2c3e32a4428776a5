/**
 * `npm run bench`: the saga against the database's own limit, in one run.
 *
 * Starts the stack as a user does (fresh database, free ports), then for
 * each concurrency level drives orders through the gateway (`POST /orders`
 * with `Prefer: wait`, so latency is request → terminal status) and measures
 * throughput, latency percentiles, errors and the stack's peak RSS. At the
 * same level it runs the database-only bound: the very transactions an order
 * costs (the same domain code, inbox, outbox and idempotency records),
 * executed directly against the same PostgreSQL, with no HTTP and no Broker.
 * SPEC §7's invariants are checked after each level. Tracing is off unless
 * `--tracing` is given (then every function and the Broker trace into the
 * stand-in's own receiver).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudEvent } from 'cloudevents';
import { newId } from '../lib/ids.js';
import { createMailer, type Mailer } from '../lib/mailer.js';
import { consume, fingerprintOf, idempotent, type Consumed, type SagaEvent } from '../lib/messaging.js';
import { createSql, type Sql } from '../lib/pg.js';
import { markPublished } from '../lib/publisher.js';
import { readEvent, type EventName, type Incoming } from '../events/index.js';
import { notifyCustomer } from '../functions/notify/domain.js';
import { startStackProcess, type RunningStack } from '../test/stack-process.js';
import { cpuBetween, snapshotCpu } from './cpu.js';
import { benchSettings, closedLoop, percentile, postJson, round, settledInvariants } from './driver.js';
import { treeRssMb } from './rss.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** `npm run bench -- --tracing`: OpenTelemetry on in every function and the Broker (off by default, as the targets are measured). */
const TRACING = process.argv.includes('--tracing');
const { levels: LEVELS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS } = benchSettings();
const PRICE = 100;

interface Customer {
  id: string;
  token: string;
}

interface LevelResult {
  concurrency: number;
  orders_per_s: number;
  db_bound_per_s: number;
  ratio: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
  peak_rss_mb: number;
  orders: number;
  invariants_ok: boolean;
}

async function api(stack: RunningStack, url: string, body: unknown, headers: Record<string, string> = {}) {
  return postJson(stack.gatewayUrl + url, body, headers);
}

async function setup(stack: RunningStack, customers: number): Promise<{ customers: Customer[]; slotId: string }> {
  const slot = await api(stack, '/slots', { name: 'bench', capacity: 1_000_000, price: PRICE }, { authorization: `Bearer ${stack.adminToken}` });
  if (slot.status !== 201) throw new Error(`could not create the slot: ${slot.status}`);
  const list: Customer[] = [];
  for (let i = 0; i < customers; i++) {
    const created = await api(stack, '/accounts', { email: `bench-${i}@example.com`, name: `Bench ${i}` });
    const c = created.body as unknown as Customer;
    const dep = await api(stack, `/accounts/${c.id}/deposits`, { amount: 1_000_000_000 }, { authorization: `Bearer ${c.token}`, 'idempotency-key': newId() });
    if (dep.status !== 201) throw new Error(`could not fund a customer: ${dep.status}`);
    list.push(c);
  }
  return { customers: list, slotId: slot.body.id as string };
}

/** Drives `concurrency` workers for `seconds`; each order is timed from POST to terminal. */
async function driveSaga(stack: RunningStack, customers: Customer[], slotId: string, concurrency: number, seconds: number) {
  let peak = 0;
  // Once a second: reading every process's smaps takes ~15 ms of kernel time
  // and briefly holds the memory map of the processes being measured.
  const sampler = setInterval(() => (peak = Math.max(peak, treeRssMb(stack.child.pid!))), 1000);
  const cpuBefore = snapshotCpu(stack.child.pid!);
  const loop = await closedLoop(concurrency, seconds, async (worker) => {
    const c = customers[worker % customers.length]!;
    const res = await api(stack, '/orders', { accountId: c.id, slotId }, {
      authorization: `Bearer ${c.token}`,
      'idempotency-key': newId(),
      prefer: 'wait=30',
    });
    if (res.status !== 201 || res.body.status !== 'confirmed') throw new Error(`order answered ${res.status} ${String(res.body.status)}`);
  });
  const cpu = cpuBetween(cpuBefore, snapshotCpu(stack.child.pid!));
  clearInterval(sampler);
  peak = Math.max(peak, treeRssMb(stack.child.pid!));
  return { ...loop, peakRss: peak, cpu };
}

/** One order's database work, exactly as the functions do it (the same step routines), minus HTTP and Broker. */
async function dbOnlyOrder(sql: Sql, mailer: Mailer, customer: Customer, slotId: string): Promise<void> {
  const input = { orderId: newId(), accountId: customer.id, slotId, seats: 1, payWithin: 0 };
  const key = { scope: customer.id, key: newId(), fingerprint: fingerprintOf('POST', '/orders', { accountId: customer.id, slotId }) };
  const { events } = await idempotent(sql, 'place-order', key, 'orders_request', input);
  // What the publisher does once the Broker has the event.
  await markPublished(sql, events.map((e) => e.id));
  const steps: [string, EventName, (incoming: Incoming, replyId: string) => Promise<Consumed>][] = [
    ['reserve-slot', 'order.placed', (e, id) => consume(sql, 'reserve-slot', e, id, 'slots_reserve', e.data)],
    ['charge', 'slot.reserved', (e, id) => consume(sql, 'charge', e, id, 'charge_order', e.data)],
    ['place-order', 'payment.charged', (e, id) => consume(sql, 'place-order', e, id, 'orders_confirm', e.data)],
    [
      'notify',
      'order.confirmed',
      (e, id) => notifyCustomer(sql, mailer, { letter: 'happy', order: e.data as never }, (step, data, on) => consume(on, 'notify', e, id, step, data)),
    ],
  ];
  let event: SagaEvent | undefined = events[0];
  for (const [consumer, name, run] of steps) {
    if (!event) throw new Error(`${consumer} got no ${name}`);
    const incoming = readEvent(new CloudEvent(event), [name]);
    event = (await run(incoming, newId())).events[0];
  }
}

async function driveDatabase(url: string, customers: Customer[], slotId: string, concurrency: number, seconds: number) {
  const sql = createSql({ url, poolMax: concurrency, applicationName: 'bench-db-bound' });
  const mailer = createMailer({ mode: 'dry-run', region: 'us-east-1', from: 'bench@ordersaga.dev' });
  try {
    const loop = await closedLoop(concurrency, seconds, (worker) => dbOnlyOrder(sql, mailer, customers[(worker + 7) % customers.length]!, slotId));
    if (loop.errors > 0) throw new Error(`the database-only bound failed: ${loop.errorSamples.join('; ')}`);
    return loop.latencies.length / loop.elapsed;
  } finally {
    await sql.end();
  }
}

async function main() {
  console.log(`ordersaga bench: levels ${LEVELS.join(', ')}, ${SECONDS} s each, on ${os.cpus().length} cores, Node ${process.version}, tracing ${TRACING ? 'on' : 'off'}`);
  const stack = await startStackProcess({ LOG_FORMAT: 'json', OTEL_SDK_DISABLED: TRACING ? 'false' : 'true' });
  const levels: LevelResult[] = [];
  try {
    const databaseUrl = stack.databaseUrl;
    const { customers, slotId } = await setup(stack, Math.max(...LEVELS));
    if (WARMUP_SECONDS > 0) {
      await driveSaga(stack, customers, slotId, 4, WARMUP_SECONDS);
      await driveDatabase(databaseUrl, customers, slotId, 4, WARMUP_SECONDS);
    }
    for (const concurrency of LEVELS) {
      const saga = await driveSaga(stack, customers, slotId, concurrency, SECONDS);
      const sagaReport = await settledInvariants(databaseUrl);
      const dbBound = await driveDatabase(databaseUrl, customers, slotId, concurrency, SECONDS);
      const dbReport = await settledInvariants(databaseUrl);
      const ordersPerS = saga.latencies.length / saga.elapsed;
      const level: LevelResult = {
        concurrency,
        orders_per_s: round(ordersPerS),
        db_bound_per_s: round(dbBound),
        ratio: round(ordersPerS / dbBound, 3),
        p50_ms: round(percentile(saga.latencies, 50)),
        p95_ms: round(percentile(saga.latencies, 95)),
        p99_ms: round(percentile(saga.latencies, 99)),
        errors: saga.errors,
        peak_rss_mb: Math.round(saga.peakRss),
        orders: saga.latencies.length,
        invariants_ok: sagaReport.ok && dbReport.ok,
      };
      levels.push(level);
      console.log(
        `c=${concurrency}: saga ${level.orders_per_s}/s, db bound ${level.db_bound_per_s}/s, ratio ${level.ratio}, ` +
          `p50 ${level.p50_ms} ms, p95 ${level.p95_ms} ms, p99 ${level.p99_ms} ms, errors ${level.errors}, ` +
          `peak RSS ${level.peak_rss_mb} MB, invariants ${level.invariants_ok ? 'ok' : 'VIOLATED'}`,
      );
      const perOrder = saga.cpu.map(([part, ms]) => `${part} ${round(ms / Math.max(1, level.orders))}`).join(', ');
      console.log(`  CPU ms per order: ${perOrder}`);
      for (const v of [...sagaReport.violations, ...dbReport.violations].slice(0, 10)) console.log(`  invariant ${v.invariant}: ${v.detail}`);
    }
  } finally {
    await stack.stop();
  }
  const top = levels.find((l) => l.concurrency === 32) ?? levels.at(-1)!;
  const result = {
    at: new Date().toISOString(),
    machine: { cores: os.cpus().length, node: process.version },
    tracing: TRACING,
    seconds_per_level: SECONDS,
    levels,
    ratio: top.ratio,
    invariants_ok: levels.every((l) => l.invariants_ok),
  };
  const outDir = path.join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  const table = [
    '| concurrency | saga orders/s | DB-only orders/s | ratio | p50 ms | p95 ms | p99 ms | errors | peak RSS MB | invariants |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
    ...levels.map(
      (l) =>
        `| ${l.concurrency} | ${l.orders_per_s} | ${l.db_bound_per_s} | ${(l.ratio * 100).toFixed(1)} % | ${l.p50_ms} | ${l.p95_ms} | ${l.p99_ms} | ${l.errors} | ${l.peak_rss_mb} | ${l.invariants_ok ? 'ok' : 'violated'} |`,
    ),
  ].join('\n');
  writeFileSync(path.join(outDir, 'latest.md'), table + '\n');
  console.log(`\n${table}\n\nwrote bench/results/latest.json and bench/results/latest.md`);
  if (!result.invariants_ok || levels.some((l) => l.errors > 0)) process.exitCode = 1;
}

await main();
