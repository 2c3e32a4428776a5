/**
 * The chaos harness: a whole local stack per scenario (started in-process
 * with `startStack`, on free ports and a fresh data folder), a client that
 * retries as a careful API user does, and settlement decided by polling
 * the database (the block each scenario prints is in report.ts).
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { createDb, type Db } from '../../lib/db.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/log.js';
import { DEFAULT_FUNCTION_NODE_FLAGS, startStack, type Stack, type StackConfig } from '../../local/stack.js';
import { request, type Answer } from '../harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHAOS_ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef';

/** How long a scenario's orders get to end once the load and the faults are over. */
export const SETTLE_DEADLINE_MS = 120_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// The Broker's delivery log, counted instead of printed.

/** What the Broker logged, one `delivery` line per attempt. */
export interface DeliveryTally {
  /** Delivery attempts, dead-letter sink included. */
  attempts: number;
  /** Distinct (Trigger, event id) pairs that reached their subscriber at least once. */
  reached: Set<string>;
  /** The latest warnings and errors of the stand-in, for a failure's message. */
  recentProblems: string[];
}

/** A logger that stays quiet and counts the Broker's delivery lines. */
function countingLogger(): { log: Logger; tally: DeliveryTally } {
  const tally: DeliveryTally = { attempts: 0, reached: new Set(), recentProblems: [] };
  const problem = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    tally.recentProblems.push(`${level} ${message} ${JSON.stringify(fields)}`);
    if (tally.recentProblems.length > 40) tally.recentProblems.shift();
  };
  return {
    tally,
    log: {
      debug() {},
      info(message, fields = {}) {
        if (message !== 'delivery') return;
        tally.attempts += 1;
        const reached = fields.outcome === 'delivered' || fields.outcome === 'replied';
        if (reached && fields.deadLetterSink !== true) tally.reached.add(`${String(fields.trigger)}|${String(fields.id)}`);
      },
      warn: problem('warn'),
      error: problem('error'),
    },
  };
}

// ---------------------------------------------------------------------------
// The client: the gateway, used as a careful API user would.

export interface ClientStats {
  /** HTTP requests sent, first attempts and retries. */
  requests: number;
  /** Retries after a 5xx answer. */
  retried5xx: number;
  /** Retries after a 409 that was not a replay (the same key still in flight, or a refusal asked again). */
  retried409: number;
  /** Retries after no answer at all (connection refused or reset). */
  retriedNetwork: number;
  /** Answers carrying `Idempotent-Replayed: true`. */
  replays: number;
}

export interface Customer {
  id: string;
  token: string;
}

export interface PlacedOrder {
  id: string;
  status: string;
  reason: string | null;
  amount: number;
}

export interface SendOptions {
  token?: string;
  body?: unknown;
  /** Sent on every attempt: a retry is the same request, so it cannot act twice. */
  idempotencyKey?: string;
  prefer?: string;
}

export interface Client {
  readonly stats: ClientStats;
  /**
   * One logical request: retried on no answer, on 5xx and (when it carries an
   * Idempotency-Key) on a 409 that is not a replay, always with the same key,
   * until a final answer; bounded in attempts and time.
   */
  send(method: string, path: string, options?: SendOptions): Promise<Answer>;
  openAccount(funds: number): Promise<Customer>;
  deposit(customer: Customer, amount: number, key?: string): Promise<Answer>;
  withdraw(customer: Customer, amount: number, key?: string): Promise<Answer>;
  createSlot(name: string, capacity: number, price: number): Promise<string>;
  /** Places an order, holding the request up to `waitSeconds` for its outcome; 201 or 202. */
  placeOrder(customer: Customer, slotId: string, waitSeconds: number): Promise<PlacedOrder>;
  balance(customer: Customer): Promise<number>;
}

const MAX_ATTEMPTS = 80;
const MAX_REQUEST_MS = 90_000;

function expectStatus(answer: Answer, wanted: number[], what: string): Answer {
  if (!wanted.includes(answer.status)) throw new Error(`${what}: expected ${wanted.join(' or ')}, got ${answer.status} ${answer.text}`);
  return answer;
}

export function createClient(gatewayUrl: string, adminToken: string): Client {
  const stats: ClientStats = { requests: 0, retried5xx: 0, retried409: 0, retriedNetwork: 0, replays: 0 };

  async function send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.prefer) headers.prefer = options.prefer;
    const started = Date.now();
    let last = 'no attempt';
    for (let attempt = 0; attempt < MAX_ATTEMPTS && Date.now() - started < MAX_REQUEST_MS; attempt++) {
      if (attempt > 0) await delay(Math.min(2000, 50 * 2 ** attempt));
      stats.requests += 1;
      let answer: Answer;
      try {
        answer = await request(gatewayUrl, method, path, { token: options.token, body: options.body, headers });
      } catch (err) {
        stats.retriedNetwork += 1;
        last = `no answer (${(err as Error).message})`;
        continue;
      }
      if (answer.headers['idempotent-replayed'] === 'true') stats.replays += 1;
      if (answer.status >= 500) {
        stats.retried5xx += 1;
        last = `${answer.status} ${answer.text}`;
        continue;
      }
      // A replayed 409 is the stored, final refusal; a fresh one may be the same key still in flight.
      if (answer.status === 409 && options.idempotencyKey && answer.headers['idempotent-replayed'] !== 'true') {
        stats.retried409 += 1;
        last = `${answer.status} ${answer.text}`;
        continue;
      }
      return answer;
    }
    throw new Error(`${method} ${path}: no final answer after ${MAX_ATTEMPTS} attempts or ${MAX_REQUEST_MS} ms; last: ${last}`);
  }

  const money = (kind: 'deposits' | 'withdrawals') => (customer: Customer, amount: number, key: string = newId()) =>
    send('POST', `/accounts/${customer.id}/${kind}`, { token: customer.token, body: { amount }, idempotencyKey: key });
  const deposit = money('deposits');

  return {
    stats,
    send,
    deposit,
    withdraw: money('withdrawals'),
    async openAccount(funds) {
      // POST /accounts takes no Idempotency-Key: a retry after a lost answer may open a
      // spare, empty account, which no journey uses and every invariant allows.
      const created = expectStatus(await send('POST', '/accounts', { body: { email: `${newId()}@chaos.example`, name: 'Chaos Customer' } }), [201], 'open an account');
      const customer = created.body as Customer;
      if (funds > 0) expectStatus(await deposit(customer, funds), [201], 'fund an account');
      return { id: customer.id, token: customer.token };
    },
    async createSlot(name, capacity, price) {
      const created = expectStatus(await send('POST', '/slots', { token: adminToken, body: { name, capacity, price } }), [201], 'create a slot');
      return (created.body as { id: string }).id;
    },
    async placeOrder(customer, slotId, waitSeconds) {
      const answer = expectStatus(
        await send('POST', '/orders', { token: customer.token, body: { accountId: customer.id, slotId }, idempotencyKey: newId(), prefer: `wait=${waitSeconds}` }),
        [201, 202],
        'place an order',
      );
      const { id, status, reason, amount } = answer.body as PlacedOrder;
      return { id, status, reason, amount };
    },
    async balance(customer) {
      const answer = expectStatus(await send('GET', `/accounts/${customer.id}`, { token: customer.token }), [200], 'read a balance');
      return (answer.body as { balance: number }).balance;
    },
  };
}

// ---------------------------------------------------------------------------
// A stack of the scenario's own.

export interface ChaosStack {
  stack: Stack;
  /** The stack's database, for settlement and invariants. */
  db: Db;
  client: Client;
  tally: DeliveryTally;
  /** Redeliveries the functions recognised and answered without effect (their "duplicate delivery" log lines). */
  duplicatesAbsorbed(): number;
  /** What the reconciler did, from place-order's "reconciled" log lines. */
  reconcilerWork(): ReconcilerWork;
  /** Stops the stack and deletes its data folder; safe to call twice. */
  stop(): Promise<void>;
}

export interface ChaosStackOptions {
  chaos?: StackConfig['chaos'];
  /** Age (s) at which the reconciler drives a stalled order on; 2 unless a scenario says why not. */
  reconcileAfterSeconds?: number;
}

/**
 * A chaos stack for the tests of the enclosing `describe`: started before
 * them, stopped after them. Call the returned function inside a test.
 */
export function useChaosStack(options: ChaosStackOptions = {}): () => ChaosStack {
  let chaos: ChaosStack | undefined;
  beforeAll(async () => {
    chaos = await startChaosStack(options);
  });
  afterAll(async () => {
    await chaos?.stop();
  });
  return () => {
    if (!chaos) throw new Error('the chaos stack did not start');
    return chaos;
  };
}

export async function startChaosStack(options: ChaosStackOptions = {}): Promise<ChaosStack> {
  if (!existsSync(path.join(root, 'dist', 'functions.js'))) {
    throw new Error('dist/ is missing: run `node scripts/build.mjs` first (`npm run test:chaos` does)');
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-chaos-'));
  // The embedded server runs as the unprivileged `postgres` user, which must reach its data folder.
  chmodSync(dataDir, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, RECONCILE_AFTER_SECONDS: String(options.reconcileAfterSeconds ?? 2) };
  // vitest's NODE_ENV=test would override the manifests' production setting.
  delete env.NODE_ENV;
  const { log, tally } = countingLogger();
  let stack: Stack;
  try {
    stack = await startStack(
      {
        root,
        manifestsDir: path.join(root, 'knative', 'base'),
        dataDir,
        gatewayPort: 0,
        brokerPort: 0,
        functionsPort: 0,
        postgresPort: 0,
        otlpPort: 0,
        databaseUrl: undefined,
        adminToken: CHAOS_ADMIN_TOKEN,
        tokenSecret: undefined,
        env,
        functionNodeFlags: DEFAULT_FUNCTION_NODE_FLAGS,
        pingIntervalSeconds: 1,
        chaos: options.chaos,
      },
      log,
    );
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const db = createDb({ url: stack.databaseUrl, poolMax: 4, applicationName: 'chaos-test' });
  let stopped: Promise<void> | undefined;
  return {
    stack,
    db,
    client: createClient(stack.gatewayUrl, stack.adminToken),
    tally,
    duplicatesAbsorbed: () => logLines(stack.logsDir, '"message":"duplicate delivery"').length,
    reconcilerWork: () => reconcilerWorkOf(logLines(stack.logsDir, '"message":"reconciled"')),
    stop() {
      stopped ??= (async () => {
        try {
          await db.destroy();
          await stack.stop();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}

/** The lines of the function logs that contain `needle`. */
export function logLines(logsDir: string, needle: string): string[] {
  return readdirSync(logsDir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(path.join(logsDir, f), 'utf8').split('\n'))
    .filter((line) => line.includes(needle));
}

export interface ReconcilerWork {
  /** Ticks on which the reconciler found something to do. */
  ticks: number;
  /** Stalled orders whose `order.placed` it published again (summed over ticks). */
  stalled: number;
  /** Outbox events it published that had never reached the Broker. */
  unpublished: number;
}

function reconcilerWorkOf(lines: string[]): ReconcilerWork {
  const work: ReconcilerWork = { ticks: 0, stalled: 0, unpublished: 0 };
  for (const line of lines) {
    let fields: { stalled?: number; unpublished?: number };
    try {
      fields = JSON.parse(line) as typeof fields;
    } catch {
      continue; // the line still being written
    }
    const { stalled = 0, unpublished = 0 } = fields;
    work.ticks += 1;
    work.stalled += stalled;
    work.unpublished += unpublished;
  }
  return work;
}

/** What a kill did: the process it hit and the one the supervisor put in its place. */
export interface Crash {
  name: string;
  killedPid: number;
  newPid: number;
  /** From SIGKILL to the new process answering its health check. */
  downMs: number;
}

/**
 * `kill -9` a function process, then waits (bounded) for the supervisor to
 * start a new one and for it to answer its health check.
 */
export async function crashFunction(stack: Stack, name: string, timeoutMs = 30_000): Promise<Crash> {
  const pidOf = () => stack.processes().find((p) => p.name === name)?.pid;
  const killedPid = pidOf();
  if (killedPid === undefined) throw new Error(`no running process ${name}`);
  const started = Date.now();
  process.kill(killedPid, "SIGKILL");
  // Until the supervisor has seen the death, the old process's port could still answer.
  for (let i = 0; i < timeoutMs / 20 && Date.now() - started < timeoutMs; i++) {
    const pid = pidOf();
    if (pid !== undefined && pid !== killedPid) break;
    await delay(20);
  }
  await stack.supervisor.waitReady(name, Math.max(1000, timeoutMs - (Date.now() - started)));
  const newPid = pidOf();
  if (newPid === undefined || newPid === killedPid) throw new Error(`${name} was not restarted after SIGKILL of pid ${killedPid}`);
  return { name, killedPid, newPid, downMs: Date.now() - started };
}

// ---------------------------------------------------------------------------
// Load, settlement and outcome.

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A load in progress: how far it got, a way to wait for a point in it, and its end. */
export interface Load<R> {
  completed(): number;
  /** Resolves once `n` items are done, or the load has ended (so a fault never waits for a load that died). */
  reached(n: number): Promise<void>;
  done: Promise<R[]>;
}

export function startLoad<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Load<R> {
  let completed = 0;
  let ended = false;
  let waiters: { n: number; wake: () => void }[] = [];
  const wakeDue = () => {
    const due = waiters.filter((w) => ended || completed >= w.n);
    waiters = waiters.filter((w) => !due.includes(w));
    due.forEach((w) => w.wake());
  };
  const done = mapLimit(items, limit, async (item) => {
    const result = await fn(item);
    completed += 1;
    wakeDue();
    return result;
  }).finally(() => {
    ended = true;
    wakeDue();
  });
  return {
    completed: () => completed,
    reached: (n) => (ended || completed >= n ? Promise.resolve() : new Promise<void>((wake) => waiters.push({ n, wake }))),
    done,
  };
}

export interface Settlement {
  settled: boolean;
  orders: number;
  /** Orders not terminal at the end. */
  pending: number;
  /** Terminal orders without their letter at the end. */
  unnotified: number;
  ms: number;
  lastError: string | undefined;
}

/**
 * Polls until every order is terminal and notified, or `timeoutMs` passes.
 * A failing poll (the database restarting) is retried, not fatal.
 */
export async function waitUntilSettled(db: Db, timeoutMs: number = SETTLE_DEADLINE_MS, intervalMs = 250): Promise<Settlement> {
  const started = Date.now();
  const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
  let last: Omit<Settlement, 'settled' | 'ms' | 'lastError'> = { orders: 0, pending: -1, unnotified: -1 };
  let lastError: string | undefined;
  for (let poll = 0; poll < maxPolls && Date.now() - started < timeoutMs; poll++) {
    try {
      const { rows } = (await db.raw(`
        select count(*) as orders,
               count(*) filter (where o.status = 'pending') as pending,
               count(*) filter (where o.status <> 'pending'
                                  and not exists (select 1 from notifications n where n.order_id = o.id)) as unnotified
          from orders o`)) as { rows: { orders: number; pending: number; unnotified: number }[] };
      last = rows[0]!;
      if (last.pending === 0 && last.unnotified === 0) return { settled: true, ...last, ms: Date.now() - started, lastError };
    } catch (err) {
      lastError = (err as Error).message;
    }
    await delay(intervalMs);
  }
  return { settled: false, ...last, ms: Date.now() - started, lastError };
}

/** Resolves true once the Broker has nothing in flight, false after `timeoutMs`. */
export async function brokerQuiet(stack: Stack, timeoutMs = 30_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const quiet = await Promise.race([
    stack.broker.settled().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return quiet;
}

export interface Outcome {
  orders: number;
  confirmed: number;
  cancelled: number;
  pending: number;
  reasons: Record<string, number>;
}

export async function outcomeOf(db: Db): Promise<Outcome> {
  const rows = (await db('orders').select('status', 'reason').count<{ status: string; reason: string | null; count: number }[]>('* as count').groupBy('status', 'reason')) as {
    status: string;
    reason: string | null;
    count: number;
  }[];
  const outcome: Outcome = { orders: 0, confirmed: 0, cancelled: 0, pending: 0, reasons: {} };
  for (const r of rows) {
    const n = Number(r.count);
    outcome.orders += n;
    if (r.status === 'confirmed') outcome.confirmed += n;
    else if (r.status === 'cancelled') outcome.cancelled += n;
    else outcome.pending += n;
    if (r.reason) outcome.reasons[r.reason] = (outcome.reasons[r.reason] ?? 0) + n;
  }
  return outcome;
}
