/**
 * An order as the API answers it (GET /orders/{id}), and its saga's history.
 * Types only, so the console's page can share them.
 */
import type { OrderCancelled } from '../../events/types.js';

export type OrderStatus = 'pending' | 'awaiting_funds' | 'confirmed' | 'cancelled';
export type CancelReason = OrderCancelled['reason'];

/** One saga step: the event that reported it, who emitted it, and when. */
export interface HistoryEntry {
  step: string;
  eventType: string;
  eventId: string;
  source: string;
  at: string;
  reason?: string;
  deadline?: string;
}

export interface Order {
  id: string;
  accountId: string;
  slotId: string;
  seats: number;
  amount: number;
  status: OrderStatus;
  reason: CancelReason | null;
  payWithin: number;
  paymentDeadline: string | null;
  createdAt: string;
  updatedAt: string;
  history?: HistoryEntry[];
}
