/* Generated from events/schemas by `npm run events:types`. Do not edit. */
/* eslint-disable */

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
 * The order is cancelled, with the reason.
 */
export interface OrderCancelled {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  reason: 'sold_out' | 'unknown_slot' | 'insufficient_funds';
}

/**
 * The order is confirmed: seats reserved and paid.
 */
export interface OrderConfirmed {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
}

/**
 * An order was placed and is pending; the saga starts.
 */
export interface OrderPlaced {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
}

/**
 * Asks place-order to book seats of a slot for an account. orderId is derived from the event's source and id when absent.
 */
export interface OrderRequested {
  accountId: string;
  slotId: string;
  seats?: number;
  orderId?: string;
}

/**
 * The order's amount was charged to the account.
 */
export interface PaymentCharged {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  balance: number;
}

/**
 * The order's amount could not be charged; the reservation must be released.
 */
export interface PaymentDeclined {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  reason: 'insufficient_funds';
}

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
export interface SlotRejected {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  reason: 'sold_out' | 'unknown_slot';
}

/**
 * A reservation was released (compensation for a declined payment).
 */
export interface SlotReleased {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  reason: 'insufficient_funds';
}

/**
 * Seats were reserved for an order.
 */
export interface SlotReserved {
  orderId: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
}

/** Event name → the type of its `data`. */
export interface EventData {
  'account.created': AccountCreated;
  'account.deposited': AccountDeposited;
  'account.requested': AccountRequested;
  'account.withdrawn': AccountWithdrawn;
  'deposit.requested': DepositRequested;
  'notification.sent': NotificationSent;
  'order.cancelled': OrderCancelled;
  'order.confirmed': OrderConfirmed;
  'order.placed': OrderPlaced;
  'order.requested': OrderRequested;
  'payment.charged': PaymentCharged;
  'payment.declined': PaymentDeclined;
  'slot.created': SlotCreated;
  'slot.rejected': SlotRejected;
  'slot.released': SlotReleased;
  'slot.reserved': SlotReserved;
}
