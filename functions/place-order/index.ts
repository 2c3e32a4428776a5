/**
 * place-order: orders over REST (with `Prefer: wait`), the saga's order
 * transitions, cancelling an order that waits for funds, and the reconciler
 * driven by a PingSource.
 */
import { authorizeAccount, authorizeBodyAccount, idParam } from '../../lib/auth.js';
import { commitChange, commitIdempotent } from '../../lib/commit.js';
import { opt } from '../../lib/config.js';
import { ValidationError } from '../../lib/errors.js';
import { defineFunction, step } from '../../lib/function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { baseOptions } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import {
  AWAIT_FUNDS,
  CANCEL_ORDER,
  CONFIRM_ORDER,
  findOrder,
  listOrders,
  PLACE_ORDER,
  REQUEST_CANCEL,
  REQUEST_ORDER,
  routines,
} from './domain.js';
import type { Order, OrderStatus } from './order.js';
import { reconcile } from './reconcile.js';
import { createSagaWaiter, preferredWait, type SagaWaiter } from './wait.js';

/** The PingSource's CloudEvent type. */
export const PING_TYPE = 'dev.knative.sources.ping';

const STATUSES: readonly OrderStatus[] = ['pending', 'awaiting_funds', 'confirmed', 'cancelled'];

const { accountId, slotId, seats, orderId, payWithin } = schemas['order.requested'].properties;
const readNewOrder = bodyValidator<{ accountId: string; slotId: string; seats?: number; orderId?: string; payWithin?: number }>({
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'slotId'],
  properties: { accountId, slotId, seats, orderId, payWithin },
});

interface Deps {
  waiter: SagaWaiter;
  reconcileAfterSeconds: number;
  paymentWaitSeconds: number;
}

export default defineFunction({
  name: 'place-order',
  role: 'Keeps the orders: places them, moves each through its saga to confirmed or cancelled, and drives on any that stalled.',
  options: {
    ...baseOptions,
    reconcileAfterSeconds: opt.int('RECONCILE_AFTER_SECONDS', 'age at which a stalled order is driven on', 30, 1, 86_400),
    paymentWaitSeconds: opt.int('PAYMENT_WAIT_SECONDS', 'how long an order may wait for funds when it names no payWithin (0: decline at once)', 0, 0, 86_400),
  },
  setup: (rt, config): Deps => ({
    waiter: createSagaWaiter(rt.sql, config.databaseUrl, rt.log),
    reconcileAfterSeconds: config.reconcileAfterSeconds,
    paymentWaitSeconds: config.paymentWaitSeconds,
  }),
  teardown: (deps) => deps.waiter.close(),
  routines,
  consumes: {
    'order.requested': {
      emits: ['order.placed'],
      describe: 'places the order the command asks for',
      handle: ({ event, consume }, { deps }) =>
        consume(PLACE_ORDER, {
          ...event.data,
          orderId: event.data.orderId ?? entityIdFor('order', event),
          seats: event.data.seats ?? 1,
          payWithin: event.data.payWithin ?? deps.paymentWaitSeconds,
        }),
    },
    'payment.awaiting': step(AWAIT_FUNDS, [], 'marks the order awaiting_funds until its deadline'),
    'payment.charged': step(CONFIRM_ORDER, ['order.confirmed'], 'confirms the order'),
    'slot.rejected': step(CANCEL_ORDER, ['order.cancelled'], 'cancels the order (sold_out, unknown_slot)'),
    'slot.released': step(CANCEL_ORDER, ['order.cancelled'], 'cancels the order with the reason its payment failed'),
  },
  // The reconciler's sweep publishes every function's events the outbox still holds.
  relays: true,
  sources: {
    [PING_TYPE]: {
      from: 'PingSource/reconciler',
      emits: ['order.placed'],
      describe: 'publishes what the outbox still holds and drives on every stalled order',
      async handle(_event, { rt, deps }) {
        const report = await reconcile(rt.sql, rt.publisher, deps.reconcileAfterSeconds);
        if (report.unpublished + report.stalled > 0) rt.log.info('reconciled', { ...report });
      },
    },
  },
  routes: [
    {
      method: 'POST',
      path: '/orders',
      emits: ['order.placed'],
      async handle(req, { rt, deps }) {
        const caller = rt.tokens.verify(req.header('authorization'));
        const body = readNewOrder(req.body);
        authorizeBodyAccount(rt.tokens, req, body.accountId);
        const input = {
          orderId: body.orderId ?? newId(),
          accountId: caller,
          slotId: body.slotId.toLowerCase(),
          seats: body.seats ?? 1,
          payWithin: body.payWithin ?? deps.paymentWaitSeconds,
        };
        const reply = await deps.waiter.place(input.orderId, preferredWait(req.header('prefer')), (hold) =>
          commitIdempotent(rt, req, caller, REQUEST_ORDER, input, hold),
        );
        const id = (reply.body as { id?: string }).id;
        return { ...reply, headers: { ...reply.headers, ...(id ? { Location: `/orders/${id}` } : {}) } };
      },
    },
    {
      method: 'GET',
      path: '/orders/:orderId',
      handle: async (req, { rt }) => ({ status: 200, body: await findOrder(rt.sql, idParam(req, 'orderId'), rt.tokens.verify(req.header('authorization'))) }),
    },
    {
      method: 'POST',
      path: '/orders/:orderId/cancel',
      emits: ['order.cancellation.requested'],
      async handle(req, { rt }) {
        const caller = rt.tokens.verify(req.header('authorization'));
        const order = await commitChange<Order>(rt, REQUEST_CANCEL, { orderId: idParam(req, 'orderId'), accountId: caller });
        return { status: 202, body: order, headers: { Location: `/orders/${order.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/accounts/:accountId/orders',
      query: ['status'],
      async handle(req, { rt }) {
        const account = authorizeAccount(rt.tokens, req, 'accountId');
        const status = req.query.status;
        if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
          throw new ValidationError(`status must be one of ${STATUSES.join(', ')}`);
        }
        return { status: 200, body: await listOrders(rt.sql, account, status as OrderStatus | undefined) };
      },
    },
  ],
});
