/**
 * Charging an order: one conditional UPDATE takes the amount only if the
 * balance covers it, so a balance never goes negative; the ledger's unique
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
  const charged = await tx.trx('ledger').where({ kind: 'charge', reference: order.orderId }).first('id');
  if (charged) return; // already handled under another delivery of this order
  const [row] = await tx.trx('balances')
    .where({ account_id: order.accountId })
    .andWhere('balance', '>=', order.amount)
    .update({ balance: tx.trx.raw('balance - ?', [order.amount]), updated_at: tx.trx.fn.now() })
    .returning('balance');
  if (!row) {
    // No balance row means no account: nothing to pay with, so the same refusal.
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
