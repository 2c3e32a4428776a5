/**
 * The systems `npm run bench:peers` drives, each behind one interface:
 * ordersaga as its local stack (`npm start`, or a variant of it), Restate
 * (its server from `@restatedev/restate-server` and our service on its
 * SDK), and DBOS Transact (our app). Each runs against its own database on
 * the bench's one PostgreSQL, on fixed ports in 8480-8499.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '../lib/ids.js';
import { startStackProcess, type RunningStack } from '../test/stack-process.js';
import { mergeSnapshots, snapshotCpu, type CpuSnapshot } from './cpu.js';
import { benchClient, postJson } from './driver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PEERS_DIR = path.join(root, 'bench', 'peers');

/** Every port the bench listens on. */
export const PORTS = {
  gateway: 8480,
  broker: 8481,
  restateIngress: 8482,
  restateAdmin: 8483,
  restateFabric: 8484,
  restateService: 8485,
  dbos: 8486,
  postgres: 8489,
  /** The first of ordersaga's function processes (one port each, consecutive). */
  functions: 8490,
} as const;

export interface Customer {
  id: string;
  /** ordersaga's bearer token; the peers have no authentication. */
  token: string;
  funded: boolean;
}

export interface Outcome {
  status: string;
  reason: string | null;
}

export interface System {
  label: string;
  /** CPU so far of every process of the system (PostgreSQL apart), by part. */
  snapshot(): CpuSnapshot;
  openAccount(index: number, deposit: number, funded: boolean): Promise<Customer>;
  createSlot(capacity: number, price: number): Promise<string>;
  /** Places an order and resolves when it is terminal and its letter recorded. */
  order(customer: Customer, slotId: string): Promise<Outcome>;
  stop(): Promise<void>;
}

function expectStatus(what: string, res: { status: number; body: unknown }, status: number): Record<string, unknown> {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body as Record<string, unknown>;
}

// ── ordersaga ────────────────────────────────────────────────────────────

/** ordersaga's API as the bench uses it: accounts with a deposit, a slot, and orders waited to their end. */
export function ordersagaApi(stack: Pick<RunningStack, 'gatewayUrl' | 'adminToken'>) {
  const api = (url: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.gatewayUrl + url, body, headers);
  return {
    async openAccount(index: number, deposit: number, funded = true): Promise<Customer> {
      const created = expectStatus('POST /accounts', await api('/accounts', { email: `bench-${index}@example.com`, name: `Bench ${index}` }), 201);
      const customer = { id: created.id as string, token: created.token as string, funded };
      const auth = { authorization: `Bearer ${customer.token}`, 'idempotency-key': newId() };
      expectStatus('POST /accounts/{id}/deposits', await api(`/accounts/${customer.id}/deposits`, { amount: deposit }, auth), 201);
      return customer;
    },
    async createSlot(capacity: number, price: number): Promise<string> {
      const slot = expectStatus('POST /slots', await api('/slots', { name: 'bench', capacity, price }, { authorization: `Bearer ${stack.adminToken}` }), 201);
      return slot.id as string;
    },
    async order(customer: Customer, slotId: string): Promise<Outcome> {
      const headers = { authorization: `Bearer ${customer.token}`, 'idempotency-key': newId(), prefer: 'wait=30' };
      const order = expectStatus('POST /orders', await api('/orders', { accountId: customer.id, slotId }, headers), 201);
      return { status: order.status as string, reason: (order.reason as string | null) ?? null };
    },
  };
}

/**
 * A way of running ordersaga's stack: `npm start` itself, with extra
 * environment.
 */
export interface OrdersagaVariant {
  id: string;
  label: string;
  env?: Record<string, string>;
}

export async function startOrdersaga(variant: OrdersagaVariant, databaseUrl: string): Promise<System> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `ordersaga-peers-${variant.id}-`));
  const stack = await startStackProcess(
    {
      DATABASE_URL: databaseUrl,
      GATEWAY_PORT: String(PORTS.gateway),
      BROKER_PORT: String(PORTS.broker),
      FUNCTIONS_PORT: String(PORTS.functions),
      POSTGRES_PORT: String(PORTS.postgres),
      ORDERSAGA_DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      ...variant.env,
    },
    120_000,
  );
  return {
    label: variant.label,
    snapshot: () => snapshotCpu(stack.child.pid!),
    ...ordersagaApi(stack),
    stop: async () => void (await stack.stop()),
  };
}

// ── the peers' processes ─────────────────────────────────────────────────

interface PeerProcess {
  child: ChildProcess;
  /** Resolves once the process has printed a line matching `pattern`. */
  printed(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `file` in a process group of its own, its output kept in `logFile`. */
function startProcess(file: string, args: string[], env: Record<string, string>, logFile: string): PeerProcess {
  const child = spawn(file, args, { cwd: PEERS_DIR, detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  let output = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    if (output.length < 64 * 1024) output += chunk.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // gone already
    }
  };
  return {
    child,
    printed: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${path.basename(file)} did not print ${pattern} in ${timeoutMs} ms:\n${output.slice(-3000)}`)), timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          resolve();
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        void exited.then((code) => {
          clearTimeout(timer);
          // The error's own line says more than the last one (Node's version, after a crash).
          const lines = output.trim().split('\n');
          const cause = lines.find((l) => /\w*Error\b:/.test(l)) ?? lines.at(-1) ?? '';
          reject(new Error(`${path.basename(file)} exited with ${code} (${cause.trim().slice(0, 200)}):\n${output.slice(-3000)}`));
        });
        check();
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      log.end();
    },
  };
}

/** A peer's own API: JSON over HTTP, 200 with the handler's result. */
async function call(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return expectStatus(`POST ${new URL(url).pathname}`, await postJson(url, body, headers), 200);
}

/** The journey's calls on a peer whose routes are `<base><route>`. */
function peerApi(base: string, routes: { account: string; slot: string; order: string }, idempotencyHeader: boolean) {
  // Restate dedupes an invocation on its idempotency key; DBOS on the workflow id the app derives.
  const keyed = (id: string): Record<string, string> => (idempotencyHeader ? { 'idempotency-key': id } : {});
  return {
    async openAccount(index: number, deposit: number, funded: boolean): Promise<Customer> {
      const accountId = newId();
      await call(base + routes.account, { accountId, email: `bench-${index}@example.com`, name: `Bench ${index}`, deposit }, keyed(accountId));
      return { id: accountId, token: '', funded };
    },
    async createSlot(capacity: number, price: number): Promise<string> {
      const slotId = newId();
      await call(base + routes.slot, { slotId, name: 'bench', capacity, price }, keyed(slotId));
      return slotId;
    },
    async order(customer: Customer, slotId: string): Promise<Outcome> {
      const orderId = newId();
      const finished = await call(base + routes.order, { orderId, accountId: customer.id, slotId, seats: 1 }, keyed(orderId));
      return { status: finished.status as string, reason: (finished.reason as string | null) ?? null };
    },
  };
}

/** Node 24 (this bench's), running one of the peers' TypeScript entry points as it is. */
const peerEntry = (name: string) => [path.join(PEERS_DIR, name)];

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await benchClient.get(url, { timeout: 2000 }).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`${url} not ready in ${timeoutMs} ms (last status ${status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ── Restate ──────────────────────────────────────────────────────────────

/** Restate's server binary, inside the platform package `@restatedev/restate-server` depends on. */
function restateServerBinary(): string {
  const require = createRequire(path.join(PEERS_DIR, 'package.json'));
  return require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`);
}

export async function startRestate(databaseUrl: string): Promise<System> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-peers-restate-'));
  // Defaults but for the ports (and no usage report: this machine has no network).
  const config = [
    'cluster-name = "ordersaga-bench"',
    'node-name = "bench"',
    'listen-mode = "tcp"',
    `bind-address = "127.0.0.1:${PORTS.restateFabric}"`,
    'disable-telemetry = true',
    'log-filter = "warn"',
    '[ingress]',
    `bind-address = "127.0.0.1:${PORTS.restateIngress}"`,
    '[admin]',
    `bind-address = "127.0.0.1:${PORTS.restateAdmin}"`,
    'disable-web-ui = true',
  ].join('\n');
  writeFileSync(path.join(dir, 'restate.toml'), config + '\n');
  const started: PeerProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = startProcess(
      restateServerBinary(),
      ['--config-file', path.join(dir, 'restate.toml'), '--base-dir', path.join(dir, 'data'), '--no-logo'],
      {},
      path.join(dir, 'server.log'),
    );
    started.push(server);
    const service = startProcess(
      process.execPath,
      peerEntry('restate.ts'),
      { DATABASE_URL: databaseUrl, PORT: String(PORTS.restateService) },
      path.join(dir, 'service.log'),
    );
    started.push(service);
    const admin = `http://127.0.0.1:${PORTS.restateAdmin}`;
    await Promise.all([waitForHttp(`${admin}/health`), service.printed(/listening/)]);
    const registered = await postJson(`${admin}/deployments`, { uri: `http://127.0.0.1:${PORTS.restateService}` });
    if (registered.status !== 201 && registered.status !== 200) throw new Error(`registering the service answered ${registered.status}: ${JSON.stringify(registered.body)}`);
    await waitForHttp(`http://127.0.0.1:${PORTS.restateIngress}/restate/health`);
    const api = peerApi(`http://127.0.0.1:${PORTS.restateIngress}/Booking`, { account: '/openAccount', slot: '/createSlot', order: '/order' }, true);
    return {
      label: 'Restate',
      snapshot: () => mergeSnapshots(snapshotCpu(server.child.pid!, 'restate-server'), snapshotCpu(service.child.pid!, 'service (Restate SDK)')),
      ...api,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ── DBOS ─────────────────────────────────────────────────────────────────

export async function startDbos(databaseUrl: string, systemDatabaseUrl: string): Promise<System> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-peers-dbos-'));
  const app = startProcess(
    process.execPath,
    peerEntry('dbos.ts'),
    { DATABASE_URL: databaseUrl, DBOS_SYSTEM_DATABASE_URL: systemDatabaseUrl, PORT: String(PORTS.dbos) },
    path.join(dir, 'app.log'),
  );
  const stop = async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await app.printed(/listening/);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    label: 'DBOS',
    snapshot: () => snapshotCpu(app.child.pid!, 'app (DBOS Transact)'),
    ...peerApi(`http://127.0.0.1:${PORTS.dbos}`, { account: '/accounts', slot: '/slots', order: '/orders' }, false),
    stop,
  };
}
