/**
 * One letter per terminal order: happy on confirmation, sorrow on
 * cancellation. The dry-run mailer records the email inside this
 * transaction, so the letter, the dedupe record and `notification.sent`
 * commit together or not at all.
 */
import type { Db } from '../../lib/db.js';
import { NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Mailer } from '../../lib/mailer.js';
import type { Tx } from '../../lib/unit-of-work.js';
import type { OrderCancelled, OrderConfirmed } from '../../events/index.js';
import { happyLetter, sorrowLetter, type LetterType } from './letters.js';

export interface Notification {
  id: string;
  orderId: string;
  type: LetterType;
  to: string;
  subject: string;
  body: string;
  status: 'dry-run' | 'sent';
  messageId: string;
  createdAt: string;
}

type Outcome = { letter: 'happy'; order: OrderConfirmed } | { letter: 'sorrow'; order: OrderCancelled };

export async function notifyCustomer(tx: Tx, mailer: Mailer, outcome: Outcome): Promise<void> {
  const { order } = outcome;
  // One letter per order, even for deliveries of it under different event ids
  // at once: they wait here, then find the letter, instead of each handing one
  // to SES (where every send is an email) and failing only on the insert.
  await tx.trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`notification\n${order.orderId}`]);
  const sent = await tx.trx('notifications').where({ order_id: order.orderId }).first('id');
  if (sent) return; // this order's letter went out already
  const account = await tx.trx('accounts').where({ id: order.accountId }).first('email', 'name');
  if (!account) throw new NotFoundError(`No account ${order.accountId}`);
  const content = outcome.letter === 'happy' ? happyLetter(account.name, outcome.order) : sorrowLetter(account.name, outcome.order);
  const notificationId = newId();
  const row = { id: notificationId, order_id: order.orderId, account_id: order.accountId, type: outcome.letter };
  const result = await mailer.send(
    { to: account.email, ...content, tags: { notification_id: notificationId, order_id: order.orderId, letter: outcome.letter } },
    async (email) => {
      await tx.trx('notifications').insert({ ...row, to: email.to, subject: email.subject, body: email.body, status: 'dry-run', message_id: email.messageId });
    },
  );
  if (result.status === 'sent') {
    await tx.trx('notifications').insert({ ...row, to: account.email, ...content, status: 'sent', message_id: result.messageId });
  }
  await tx.emit({
    name: 'notification.sent',
    subject: order.orderId,
    data: { notificationId, orderId: order.orderId, accountId: order.accountId, letter: outcome.letter, messageId: result.messageId, status: result.status },
  });
}

export async function listNotifications(db: Db, accountId: string): Promise<Notification[]> {
  const rows = await db('notifications').where({ account_id: accountId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
  return rows.map((r) => ({
    id: r.id,
    orderId: r.order_id,
    type: r.type,
    to: r.to,
    subject: r.subject,
    body: r.body,
    status: r.status,
    messageId: r.message_id,
    createdAt: r.created_at.toISOString(),
  }));
}
