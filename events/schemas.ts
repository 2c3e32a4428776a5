/**
 * The CloudEvents catalogue: every event type's JSON Schema, from
 * `events/schemas/` (the single source of truth for event shapes).
 * A test checks that every schema file is listed here.
 */
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
