/**
 * The CloudEvents catalogue: every event type's JSON Schema, from
 * `events/schemas/` (the single source of truth for event shapes), and the
 * definitions they share, from `events/schemas/terms/`. A test checks that
 * every schema file is listed here.
 *
 * The schemas are JSON Schema 2020-12. One that carries an order's terms
 * takes them in with `allOf: [{ $ref: <OrderTerms> }]` and refuses every
 * other member with `unevaluatedProperties: false` (`additionalProperties`
 * would not see the members `allOf` brings, and refuse them); one that
 * carries only some terms refers to each by its pointer.
 */
import { ajv } from '../lib/validate.js';
import accountCreated from './schemas/account.created.json' with { type: 'json' };
import accountDeposited from './schemas/account.deposited.json' with { type: 'json' };
import accountRequested from './schemas/account.requested.json' with { type: 'json' };
import accountWithdrawn from './schemas/account.withdrawn.json' with { type: 'json' };
import depositRequested from './schemas/deposit.requested.json' with { type: 'json' };
import notificationSent from './schemas/notification.sent.json' with { type: 'json' };
import orderCancellationRequested from './schemas/order.cancellation.requested.json' with { type: 'json' };
import orderCancelled from './schemas/order.cancelled.json' with { type: 'json' };
import orderConfirmed from './schemas/order.confirmed.json' with { type: 'json' };
import orderPlaced from './schemas/order.placed.json' with { type: 'json' };
import orderRequested from './schemas/order.requested.json' with { type: 'json' };
import paymentAwaiting from './schemas/payment.awaiting.json' with { type: 'json' };
import paymentCharged from './schemas/payment.charged.json' with { type: 'json' };
import paymentDeclined from './schemas/payment.declined.json' with { type: 'json' };
import slotCreated from './schemas/slot.created.json' with { type: 'json' };
import slotRejected from './schemas/slot.rejected.json' with { type: 'json' };
import slotReleased from './schemas/slot.released.json' with { type: 'json' };
import slotReserved from './schemas/slot.reserved.json' with { type: 'json' };
import orderTerms from './schemas/terms/order.json' with { type: 'json' };

export const schemas = {
  'account.created': accountCreated,
  'account.deposited': accountDeposited,
  'account.requested': accountRequested,
  'account.withdrawn': accountWithdrawn,
  'deposit.requested': depositRequested,
  'notification.sent': notificationSent,
  'order.cancellation.requested': orderCancellationRequested,
  'order.cancelled': orderCancelled,
  'order.confirmed': orderConfirmed,
  'order.placed': orderPlaced,
  'order.requested': orderRequested,
  'payment.awaiting': paymentAwaiting,
  'payment.charged': paymentCharged,
  'payment.declined': paymentDeclined,
  'slot.created': slotCreated,
  'slot.rejected': slotRejected,
  'slot.released': slotReleased,
  'slot.reserved': slotReserved,
} as const;

/** The definitions the schemas refer to, by `$id`. */
export const definitions: Readonly<Record<string, Record<string, unknown>>> = { [orderTerms.$id]: orderTerms };

// Known to the one ajv as soon as the schemas are, so that any schema compiled there can refer to a term
// (place-order's request body takes its members from order.requested).
for (const definition of Object.values(definitions)) ajv.addSchema(definition);
