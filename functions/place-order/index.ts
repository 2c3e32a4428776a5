/**
 * place-order: orders over REST (with `Prefer: wait`), the saga's terminal
 * transitions, and the reconciler driven by a PingSource.
 */
import { opt, readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction, type RouteRequest } from '../../lib/http-function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { authorizeAccount, authorizeBodyAccount, idParam, runIdempotent } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { cancelOrder, confirmOrder, findOrder, listOrders, placeOrder } from './domain.js';
import { reconcile } from './reconcile.js';
import { createOrderWaiter, type OrderWaiter } from './waiter.js';

export const options = {
  ...baseOptions,
  reconcileAfterSeconds: opt.int('RECONCILE_AFTER_SECONDS', 'age at which a stalled order is driven on', 30, 1, 86_400),
};

/** The longest `Prefer: wait` honoured, in seconds (SPEC §3). */
export const MAX_WAIT_SECONDS = 30;

/** The PingSource's CloudEvent type. */
export const PING_TYPE = 'dev.knative.sources.ping';

const { accountId, slotId, seats, orderId } = schemas['order.requested'].properties;
const readNewOrder = bodyValidator<{ accountId: string; slotId: string; seats?: number; orderId?: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'slotId'],
  properties: { accountId, slotId, seats, orderId },
});

/** Seconds asked for with `Prefer: wait=N`, capped; undefined when not asked. */
export function preferredWait(prefer: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])wait=(\d+)/i.exec(prefer ?? '');
  return match ? Math.min(Number(match[1]), MAX_WAIT_SECONDS) : undefined;
}

export interface PlaceOrderDeps {
  rt: Runtime;
  waiter: OrderWaiter;
  reconcileAfterSeconds: number;
}

export function createPlaceOrderFunction({ rt, waiter, reconcileAfterSeconds }: PlaceOrderDeps): HttpFunction {
  const callerOf = (req: RouteRequest) => rt.tokens.verify(req.header('authorization'));
  return createHttpFunction({
    name: rt.name,
    db: rt.db,
    log: rt.log,
    routes: [
      {
        method: 'POST',
        path: '/orders',
        async handle(req) {
          const caller = callerOf(req);
          const body = readNewOrder(req.body);
          authorizeBodyAccount(rt, req, body.accountId);
          const input = { orderId: body.orderId ?? newId(), accountId: caller, slotId: body.slotId.toLowerCase(), seats: body.seats ?? 1 };
          const reply = await runIdempotent(rt, req, caller, async (tx) => {
            const order = await placeOrder(tx, input, null);
            return { status: 202, body: order };
          });
          const wait = preferredWait(req.header('prefer'));
          const placed = reply.body as { id?: string; status?: string };
          if (wait === undefined || reply.headers?.['Idempotent-Replayed'] || placed.status !== 'pending' || !placed.id) {
            return withLocation(reply, placed.id);
          }
          const read = () => findOrder(rt.db, placed.id!, caller);
          await waiter.wait(placed.id, wait * 1000, async () => (await read()).status !== 'pending');
          const order = await read();
          return withLocation(
            { status: order.status === 'pending' ? 202 : 201, body: order, headers: { ...reply.headers, 'Preference-Applied': `wait=${wait}` } },
            order.id,
          );
        },
      },
      {
        method: 'GET',
        path: '/orders/:orderId',
        handle: async (req) => ({ status: 200, body: await findOrder(rt.db, idParam(req, 'orderId'), callerOf(req)) }),
      },
      {
        method: 'GET',
        path: '/accounts/:accountId/orders',
        async handle(req) {
          const account = authorizeAccount(rt, req, 'accountId');
          return { status: 200, body: await listOrders(rt.db, account) };
        },
      },
    ],
    events: {
      'order.requested': async (tx, event) => {
        const { orderId = entityIdFor('order', event), seats = 1, ...rest } = event.data;
        await placeOrder(tx, { orderId, seats, ...rest }, { type: event.type, id: event.id });
      },
      'payment.charged': (tx, event) => confirmOrder(tx, event.data.orderId, event),
      'slot.rejected': (tx, event) => cancelOrder(tx, event.data.orderId, event.data.reason, event),
      'slot.released': (tx, event) => cancelOrder(tx, event.data.orderId, event.data.reason, event),
    },
    foreignEvents: {
      [PING_TYPE]: async () => {
        const report = await reconcile(rt.db, rt.emitter, reconcileAfterSeconds);
        if (report.unpublished + report.stalled > 0) rt.log.info('reconciled', { ...report });
      },
    },
  });
}

function withLocation<T extends { headers?: Record<string, string> }>(reply: T, id: string | undefined): T {
  return id ? { ...reply, headers: { ...reply.headers, Location: `/orders/${id}` } } : reply;
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  const config = readConfig(options, env);
  const rt = createRuntime('place-order', config);
  return createPlaceOrderFunction({
    rt,
    waiter: createOrderWaiter(config.databaseUrl, rt.log),
    reconcileAfterSeconds: config.reconcileAfterSeconds,
  });
}
