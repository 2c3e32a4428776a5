/**
 * The journey on DBOS Transact: each journey is a durable workflow whose
 * workflow id is the order's (or account's, slot's) id, so starting it
 * again joins the first run instead of running a second. Each step is a
 * PostgreSQL transaction (node-postgres) inside `DBOS.runStep`, checkpointed
 * in DBOS's system database; a recovered workflow resumes after its last
 * checkpointed step. An HTTP endpoint starts the workflow and answers with
 * its result:
 *
 *   POST /accounts  {accountId, email, name, deposit}
 *   POST /slots     {slotId, name, capacity, price}
 *   POST /orders    {orderId, accountId, slotId, seats}  → {orderId, status, reason, amount}
 *
 * Run by `npm run bench:peers` with Node 24: `node dbos.ts`, with
 * DATABASE_URL, DBOS_SYSTEM_DATABASE_URL, PORT and PG_POOL_MAX.
 */
import http from 'node:http';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { openAccountSaga, orderSaga, type AccountRequest, type RunStep } from './saga.ts';
import { createSteps, UnknownAccountError, type NewSlot, type OrderRequest } from './steps.ts';
import { peerSettings } from './settings.ts';

const settings = peerSettings();
if (!settings.systemDatabaseUrl) throw new Error('DBOS_SYSTEM_DATABASE_URL must be set');
const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: settings.poolMax, application_name: 'peers-dbos' });
const steps = createSteps(pool);

/** `DBOS.runStep` as the saga's durable step: a failed transaction is retried, an unknown account is not. */
const durableStep: RunStep = (name, action) =>
  DBOS.runStep(action, {
    name,
    retriesAllowed: true,
    intervalSeconds: 0.1,
    maxAttempts: 5,
    shouldRetry: (err) => !(err instanceof UnknownAccountError),
  });

const orderWorkflow = DBOS.registerWorkflow((request: OrderRequest) => orderSaga(durableStep, steps, request), { name: 'order' });
const accountWorkflow = DBOS.registerWorkflow((request: AccountRequest) => openAccountSaga(durableStep, steps, request), { name: 'openAccount' });
const slotWorkflow = DBOS.registerWorkflow((slot: NewSlot) => durableStep('create slot', () => steps.createSlot(slot)), { name: 'createSlot' });

/** Each route: the workflow it starts, and the id that makes starting it idempotent. */
const routes: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
  '/orders': async (body) => (await DBOS.startWorkflow(orderWorkflow, { workflowID: `order-${String(body.orderId)}` })(body as unknown as OrderRequest)).getResult(),
  '/accounts': async (body) =>
    (await DBOS.startWorkflow(accountWorkflow, { workflowID: `account-${String(body.accountId)}` })(body as unknown as AccountRequest)).getResult(),
  '/slots': async (body) => (await DBOS.startWorkflow(slotWorkflow, { workflowID: `slot-${String(body.slotId)}` })(body as unknown as NewSlot)).getResult(),
};

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body ?? null);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const server = http.createServer((req, res) => {
  const route = req.method === 'POST' ? routes[req.url ?? ''] : undefined;
  if (!route) return answer(res, 404, { detail: `no route ${req.method} ${req.url}` });
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return answer(res, 400, { detail: 'the body is not JSON' });
    }
    route(body).then(
      (result) => answer(res, 200, result),
      (err: Error) => answer(res, err instanceof UnknownAccountError ? 404 : 500, { detail: err.message }),
    );
  });
});

DBOS.setConfig({ name: 'ordersaga-peers', applicationVersion: '0.1.0', systemDatabaseUrl: settings.systemDatabaseUrl, logLevel: 'warn' });
await DBOS.launch();
server.listen(settings.port, '127.0.0.1', () => console.log(`dbos app listening on ${settings.port}`));

const stop = () => {
  server.close();
  void DBOS.shutdown()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
