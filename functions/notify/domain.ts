/**
 * One letter per terminal order: happy on confirmation, sorrow on
 * cancellation. A delivery takes the order's letter lock, reads whether the
 * letter exists and to whom it goes, hands it to the mailer (in dry-run mode
 * the would-be email is what gets recorded), and records it with its inbox
 * entry and `notification.sent`, all in one transaction. Deliveries of one
 * order under different event ids wait for each other at the lock, so only
 * one hands the letter to SES, where every send is an email.
 */
import { NO_EFFECT, type Consumed } from '../../lib/messaging.js';
import type { Mailer } from '../../lib/mailer.js';
import type { Queries } from '../../lib/pg.js';
import { NotFoundError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { OrderCancelled, OrderConfirmed } from '../../events/index.js';
import { happyLetter, sorrowLetter, type LetterKind } from './letters.js';

export interface Notification {
  id: string;
  orderId: string;
  /** The letter: happy or sorrow (called `type` in the API, SPEC §3). */
  type: LetterKind;
  to: string;
  subject: string;
  body: string;
  status: 'dry-run' | 'sent';
  messageId: string;
  createdAt: string;
}

export type Outcome = { letter: 'happy'; order: OrderConfirmed } | { letter: 'sorrow'; order: OrderCancelled };

export const routines = [
  String.raw`
-- Takes the order's letter lock; tells whether its letter exists, and the account's email and name.
create or replace function notify_prepare(p_order uuid, p_account uuid)
returns table (sent boolean, email text, name text) language plpgsql as $$
begin
  perform pg_advisory_xact_lock(hashtextextended('notification' || chr(10) || p_order::text, 0));
  return query select exists (select 1 from notifications where order_id = p_order), a.email, a.name
    from (select 1) one left join accounts a on a.id = p_account;
end $$;

-- Records the letter the mailer took; notification.sent, and the order's saga
-- is settled (its trigger answers a request waiting for it: place-order).
create or replace function notify_record(p json)
returns json language plpgsql as $$
declare
  v_order uuid := (p->>'orderId')::uuid;
begin
  insert into notifications (id, order_id, account_id, letter, "to", subject, body, status, message_id)
  values ((p->>'notificationId')::uuid, v_order, (p->>'accountId')::uuid, p->>'letter', p->>'to', p->>'subject', p->>'body',
          p->>'status', p->>'messageId')
  on conflict (order_id) do nothing;
  if not found then
    return json_build_object('events', '[]'::json);
  end if;
  return json_build_object('events', json_build_array(saga_out('notification.sent', v_order::text, json_build_object(
    'notificationId', p->'notificationId', 'orderId', v_order, 'accountId', p->'accountId', 'letter', p->'letter',
    'messageId', p->'messageId', 'status', p->'status'))));
end $$;

create or replace function notify_list(p_account uuid)
returns json language plpgsql stable as $$
begin
  return (
    select coalesce(json_agg(json_build_object(
             'id', n.id, 'orderId', n.order_id, 'type', n.letter, 'to', n."to", 'subject', n.subject, 'body', n.body,
             'status', n.status, 'messageId', n.message_id, 'createdAt', saga_time(n.created_at))
           order by n.created_at, n.id), '[]')
      from notifications n where n.account_id = p_account
  );
end $$;
`,
];

/**
 * Sends the order's letter unless it went out already, and records it
 * through `consume` (the delivery's once-only step) in the same transaction.
 */
export async function notifyCustomer(
  tx: Queries,
  mailer: Mailer,
  outcome: Outcome,
  consume: (step: string, input: unknown, on: Queries) => Promise<Consumed>,
): Promise<Consumed> {
  const { order } = outcome;
  const ready = await tx.one<{ sent: boolean; email: string | null; name: string | null }>('select * from notify_prepare($1, $2)', [order.orderId, order.accountId]);
  // The letter went out under another delivery: this one is recorded, and answers what it answered before if it is a redelivery.
  if (ready!.sent) return consume(NO_EFFECT, {}, tx);
  if (ready!.email === null) throw new NotFoundError(`No account ${order.accountId}`);
  const content = outcome.letter === 'happy' ? happyLetter(ready!.name!, outcome.order) : sorrowLetter(ready!.name!, outcome.order);
  const notificationId = newId();
  let recorded: Consumed | undefined;
  const result = await mailer.send(
    { to: ready!.email, ...content, tags: { notification_id: notificationId, order_id: order.orderId, letter: outcome.letter } },
    async (email) => {
      recorded = await consume('notify_record', { ...letterOf(outcome, notificationId), to: email.to, subject: email.subject, body: email.body, status: 'dry-run', messageId: email.messageId }, tx);
    },
  );
  recorded ??= await consume('notify_record', { ...letterOf(outcome, notificationId), to: ready!.email, ...content, status: 'sent', messageId: result.messageId }, tx);
  return recorded;
}

const letterOf = (outcome: Outcome, notificationId: string) => ({
  notificationId,
  orderId: outcome.order.orderId,
  accountId: outcome.order.accountId,
  letter: outcome.letter,
});

export async function listNotifications(sql: Queries, accountId: string): Promise<Notification[]> {
  return (await sql.one<{ list: Notification[] }>('select notify_list($1) as list', [accountId]))!.list;
}
