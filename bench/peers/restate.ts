/**
 * The journey on Restate: one service, `Booking`, whose handlers the Restate
 * server invokes (ingress `POST /Booking/<handler>`). Each step is a
 * PostgreSQL transaction inside `ctx.run`, so its result is journalled by
 * the server and a retried invocation replays it instead of running it again.
 *
 * Run by `npm run bench:peers` with Node 24: `node restate.ts`, with
 * DATABASE_URL, PORT (of this service endpoint) and PG_POOL_MAX.
 */
import http2 from 'node:http2';
import * as restate from '@restatedev/restate-sdk';
import pg from 'pg';
import { openAccountSaga, orderSaga, type AccountRequest, type RunStep } from './saga.ts';
import { createSteps, UnknownAccountError, type NewSlot, type OrderRequest } from './steps.ts';
import { peerSettings } from './settings.ts';

const settings = peerSettings();
const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: settings.poolMax, application_name: 'peers-restate' });
const steps = createSteps(pool);

/**
 * `ctx.run` as the saga's durable step. An unknown account is terminal (a
 * retry cannot mend it); any other failure is retried by Restate.
 */
const durableStep =
  (ctx: restate.Context): RunStep =>
  (name, action) =>
    ctx.run(name, async () => {
      try {
        return await action();
      } catch (err) {
        if (err instanceof UnknownAccountError) throw new restate.TerminalError(err.message, { errorCode: 404 });
        throw err;
      }
    });

const booking = restate.service({
  name: 'Booking',
  handlers: {
    openAccount: (ctx: restate.Context, request: AccountRequest) => openAccountSaga(durableStep(ctx), steps, request),
    createSlot: (ctx: restate.Context, slot: NewSlot) => durableStep(ctx)('create slot', () => steps.createSlot(slot)),
    order: (ctx: restate.Context, request: OrderRequest) => orderSaga(durableStep(ctx), steps, request),
  },
});

const server = http2.createServer(restate.createEndpointHandler({ services: [booking] }));
server.listen(settings.port, '127.0.0.1', () => console.log(`restate service listening on ${settings.port}`));

// The server keeps its HTTP/2 connections open, so stopping does not wait for them.
const stop = () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
