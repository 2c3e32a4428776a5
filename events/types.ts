/* Generated from events/schemas by `npm run events:types`. Do not edit. */
/* eslint-disable */

/**
 * The terms of an order, which every event about it carries: the order, the account that pays, the slot, how many seats, and the amount.
 */
export interface OrderTerms {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
}

/**
 * An account was opened with a balance of 0.
 */
export interface AccountCreated {
  accountId: string;
  email: string;
  name: string;
  balance: 0;
}

/**
 * Money was added to an account.
 */
export interface AccountDeposited {
  accountId: string;
  depositId: string;
  amount: number;
  balance: number;
}

/**
 * Asks create-account to open an account (with its billing balance of 0). accountId is derived from the event's source and id when absent.
 */
export interface AccountRequested {
  accountId?: string;
  email: string;
  name: string;
}

/**
 * Money was taken out of an account.
 */
export interface AccountWithdrawn {
  accountId: string;
  withdrawalId: string;
  amount: number;
  balance: number;
}

/**
 * Asks deposit to add money to an account. depositId is derived from the event's source and id when absent.
 */
export interface DepositRequested {
  accountId: string;
  amount: number;
  depositId?: string;
}

/**
 * The customer's letter about an order was sent (or, in dry-run mode, recorded).
 */
export interface NotificationSent {
  notificationId: string;
  orderId: string;
  accountId: string;
  letter: 'happy' | 'sorrow';
  messageId: string;
  status: 'dry-run' | 'sent';
}

/**
 * Its owner asks to cancel an order that waits for funds: charge stops the wait (unless a deposit already paid it) and declines the payment customer_cancelled.
 */
export interface OrderCancellationRequested {
  orderId: string;
  accountId: string;
}

/**
 * The order is cancelled, with the reason.
 */
export type OrderCancelled = OrderTerms & {
  reason:
    'sold_out' | 'unknown_slot' | 'insufficient_funds' | 'payment_timeout' | 'customer_cancelled';
};

/**
 * The order is confirmed: seats reserved and paid.
 */
export type OrderConfirmed = OrderTerms;

/**
 * An order was placed and is pending; the saga starts.
 */
export type OrderPlaced = OrderTerms & {
  /**
   * Seconds the payment may wait for funds when the balance is short (0: decline at once).
   */
  payWithin?: number;
};

/**
 * Asks place-order to book seats of a slot for an account. orderId is derived from the event's source and id when absent.
 */
export interface OrderRequested {
  accountId: string;
  slotId: string;
  seats?: number;
  orderId?: string;
  /**
   * Seconds the payment may wait for funds when the balance is short (0: decline at once).
   */
  payWithin?: number;
}

/**
 * The balance did not cover the order's amount, and the order may wait for funds: nothing was charged, its seats stay held, and a deposit that covers it before the deadline resumes the payment.
 */
export type PaymentAwaiting = OrderTerms & {
  /**
   * The balance when the payment began to wait.
   */
  balance: number;
  /**
   * When the order is cancelled payment_timeout unless funds arrive.
   */
  deadline: string;
};

/**
 * The order's amount was charged to the account.
 */
export type PaymentCharged = OrderTerms & {
  balance: number;
};

/**
 * The order's amount could not be charged; the reservation must be released.
 */
export type PaymentDeclined = OrderTerms & {
  reason: 'insufficient_funds' | 'payment_timeout' | 'customer_cancelled';
};

/**
 * A bookable slot was created.
 */
export interface SlotCreated {
  slotId: string;
  name: string;
  capacity: number;
  price: number;
}

/**
 * Seats could not be reserved for an order.
 */
export type SlotRejected = OrderTerms & {
  reason: 'sold_out' | 'unknown_slot';
};

/**
 * A reservation was released (compensation for a declined payment).
 */
export type SlotReleased = OrderTerms & {
  reason: 'insufficient_funds' | 'payment_timeout' | 'customer_cancelled';
};

/**
 * Seats were reserved for an order.
 */
export type SlotReserved = OrderTerms & {
  /**
   * Seconds the payment may wait for funds when the balance is short (0: decline at once).
   */
  payWithin?: number;
};

/** Event name → the type of its `data`. */
export interface EventData {
  'account.created': AccountCreated;
  'account.deposited': AccountDeposited;
  'account.requested': AccountRequested;
  'account.withdrawn': AccountWithdrawn;
  'deposit.requested': DepositRequested;
  'notification.sent': NotificationSent;
  'order.cancellation.requested': OrderCancellationRequested;
  'order.cancelled': OrderCancelled;
  'order.confirmed': OrderConfirmed;
  'order.placed': OrderPlaced;
  'order.requested': OrderRequested;
  'payment.awaiting': PaymentAwaiting;
  'payment.charged': PaymentCharged;
  'payment.declined': PaymentDeclined;
  'slot.created': SlotCreated;
  'slot.rejected': SlotRejected;
  'slot.released': SlotReleased;
  'slot.reserved': SlotReserved;
}
