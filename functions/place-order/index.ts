/**
 * place-order: orders over REST (with `Prefer: wait`), the saga's terminal
 * transitions, and the reconciler driven by a PingSource.
 */
import { opt, readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction, type RouteReply, type RouteRequest } from '../../lib/http-function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { authorizeAccount, authorizeBodyAccount, idParam, runIdempotent } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import type { Tx } from '../../lib/unit-of-work.js';
import { cancelOrder, confirmOrder, findOrder, listOrders, placeOrder, type Order } from './domain.js';
import { reconcile } from './reconcile.js';
import { createOrderWaiter, type OrderWaiter } from './waiter.js';

export const options = {
  ...baseOptions,
  reconcileAfterSeconds: opt.int('RECONCILE_AFTER_SECONDS', 'age at which a stalled order is driven on', 30, 1, 86_400),
};

/** The longest `Prefer: wait` honoured, in seconds (SPEC §3). */
export const MAX_WAIT_SECONDS = 30;

/** Replays are held off this much longer than the wait itself. */
const HOLD_MARGIN_SECONDS = 5;

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
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'POST',
        path: '/orders',
        async handle(req) {
          const caller = callerOf(req);
          const body = readNewOrder(req.body);
          authorizeBodyAccount(rt, req, body.accountId);
          const input = { orderId: body.orderId ?? newId(), accountId: caller, slotId: body.slotId.toLowerCase(), seats: body.seats ?? 1 };
          const wait = preferredWait(req.header('prefer'));
          const placed = async (tx: Tx) => {
            const order = await placeOrder(tx, input);
            // A new order is pending (202); an order that already existed answers as it stands.
            return { status: order.status === 'pending' ? 202 : 201, body: order };
          };
          let reply: RouteReply;
          if (wait === undefined) {
            reply = await runIdempotent(rt, req, caller, placed);
          } else {
            const watch = await waiter.watch(input.orderId);
            try {
              reply = await runIdempotent(rt, req, caller, placed, {
                holdSeconds: wait + HOLD_MARGIN_SECONDS,
                finish: async (committed) => {
                  if ((committed.body as Order).status !== 'pending') return committed;
                  await watch.until(wait * 1000);
                  const final = await findOrder(rt.db, input.orderId, caller);
                  return { status: final.status === 'pending' ? 202 : 201, body: final };
                },
              });
            } finally {
              watch.close();
            }
          }
          const id = (reply.body as { id?: string }).id;
          return {
            ...reply,
            headers: {
              ...reply.headers,
              ...(id ? { Location: `/orders/${id}` } : {}),
              ...(wait !== undefined && !reply.headers?.['Idempotent-Replayed'] ? { 'Preference-Applied': `wait=${wait}` } : {}),
            },
          };
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
        await placeOrder(tx, { orderId, seats, ...rest });
      },
      'payment.charged': (tx, event) => confirmOrder(tx, event.data.orderId),
      'slot.rejected': (tx, event) => cancelOrder(tx, event.data.orderId, event.data.reason),
      'slot.released': (tx, event) => cancelOrder(tx, event.data.orderId, event.data.reason),
    },
    foreignEvents: {
      [PING_TYPE]: async () => {
        const report = await reconcile(rt.db, rt.emitter, reconcileAfterSeconds);
        if (report.unpublished + report.stalled > 0) rt.log.info('reconciled', { ...report });
      },
    },
  });
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
