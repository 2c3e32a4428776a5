/**
 * Charging an order: one conditional UPDATE takes the amount only if the
 * balance covers it, so a balance never goes negative. The decision
 * (charged or declined) is recorded once per order, and the ledger's unique
 * (kind, reference) makes a second charge for the same order impossible.
 */
import { newId } from '../../lib/ids.js';
import type { Tx } from '../../lib/unit-of-work.js';
import type { SlotReserved } from '../../events/index.js';

export async function chargeOrder(tx: Tx, order: SlotReserved): Promise<void> {
  // Lock the balance first: charges of one account then run one at a time, so a
  // concurrent delivery of the same order (under another event id) sees this
  // charge in the ledger instead of a balance it has already spent, and does
  // not answer payment.declined for an order that was charged.
  await tx.trx('balances').where({ account_id: order.accountId }).forUpdate().first('account_id');
  const decided = await tx.trx('payments').where({ order_id: order.orderId }).first('outcome');
  if (decided) return; // decided under another delivery of this order
  const [row] = await tx.trx('balances')
    .where({ account_id: order.accountId })
    .andWhere('balance', '>=', order.amount)
    .update({ balance: tx.trx.raw('balance - ?', [order.amount]), updated_at: tx.trx.fn.now() })
    .returning('balance');
  // An unknown account has no balance row to lock: a concurrent delivery may have decided first.
  const recorded = await tx.trx('payments')
    .insert({ order_id: order.orderId, account_id: order.accountId, amount: order.amount, outcome: row ? 'charged' : 'declined' })
    .onConflict('order_id')
    .ignore()
    .returning('order_id');
  if (recorded.length === 0) {
    // Only reachable without a balance row, so nothing was taken; guard it anyway.
    if (row) throw new Error(`order ${order.orderId} was decided twice under one balance lock`);
    return;
  }
  if (!row) {
    // The balance is short, or there is no account to pay with: the same refusal.
    await tx.emit({ name: 'payment.declined', subject: order.orderId, data: { ...order, reason: 'insufficient_funds' } });
    return;
  }
  if (order.amount > 0) {
    await tx.trx('ledger').insert({
      id: newId(),
      account_id: order.accountId,
      kind: 'charge',
      amount: order.amount,
      reference: order.orderId,
    });
  }
  await tx.emit({ name: 'payment.charged', subject: order.orderId, data: { ...order, balance: row.balance } });
}
