/**
 * One letter per terminal order: happy on confirmation, sorrow on
 * cancellation. A delivery takes the order's letter lock, reads whether the
 * letter exists and to whom it goes, hands it to the mailer (in dry-run mode
 * the would-be email is what gets recorded), and records it with its inbox
 * entry and `notification.sent` in one transaction. Deliveries of one order
 * under different event ids wait for each other at the lock, so only one
 * hands the letter to SES, where every send is an email.
 *
 * The lock is held by the connection from the first statement until the
 * record commits, without a transaction around the two: the record's
 * transaction takes the lock over, so it is let go when the letter is on
 * disk. On any failure the connection is closed, which lets it go too.
 * Two round trips a letter, where BEGIN and COMMIT made four.
 */
import { NO_EFFECT, type Consumed } from '../../lib/messaging.js';
import type { Mailer } from '../../lib/mailer.js';
import type { Queries, Sql } from '../../lib/pg.js';
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
-- The key of an order's letter lock.
create or replace function notify_lock_key(p_order uuid)
returns bigint language sql immutable parallel safe
return hashtextextended('notification' || chr(10) || p_order::text, 0);

-- Takes the order's letter lock for the connection (notify_record or
-- notify_unlock lets it go); tells whether its letter exists, and the account's email and name.
create or replace function notify_prepare(p_order uuid, p_account uuid)
returns table (sent boolean, email text, name text) language plpgsql as $$
begin
  perform pg_advisory_lock(notify_lock_key(p_order));
  return query select exists (select 1 from notifications where order_id = p_order), a.email, a.name
    from (select 1) one left join accounts a on a.id = p_account;
end $$;

create or replace function notify_unlock(p_order uuid)
returns void language plpgsql as $$
begin
  perform pg_advisory_unlock(notify_lock_key(p_order));
end $$;

-- Records the letter the mailer took; notification.sent, and the order's saga
-- is settled (its trigger answers a request waiting for it: place-order).
-- The letter lock passes from the connection to this transaction, so it is
-- held until the letter commits.
create or replace function notify_record(p json)
returns json language plpgsql as $$
declare
  v_order uuid := (p->>'orderId')::uuid;
begin
  perform pg_advisory_xact_lock(notify_lock_key(v_order));
  perform pg_advisory_unlock(notify_lock_key(v_order));
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
 * through `consume` (the delivery's once-only step), on one connection of `sql`.
 */
export function notifyCustomer(
  sql: Sql,
  mailer: Mailer,
  outcome: Outcome,
  consume: (step: string, input: unknown, on: Queries) => Promise<Consumed>,
): Promise<Consumed> {
  const { order } = outcome;
  return sql.session(async (session) => {
    const ready = await session.one<{ sent: boolean; email: string | null; name: string | null }>('select * from notify_prepare($1, $2)', [order.orderId, order.accountId]);
    // The letter went out under another delivery: this one is recorded, and answers what it answered before if it is a redelivery.
    if (ready!.sent) return unlockAfter(session, order.orderId, await consume(NO_EFFECT, {}, session));
    if (ready!.email === null) throw new NotFoundError(`No account ${order.accountId}`);
    const content = outcome.letter === 'happy' ? happyLetter(ready!.name!, outcome.order) : sorrowLetter(ready!.name!, outcome.order);
    const notificationId = newId();
    let recorded: Consumed | undefined;
    const record = async (letter: { to: string; subject: string; body: string; status: Notification['status']; messageId: string }) => {
      recorded = await consume('notify_record', { ...letterOf(outcome, notificationId), ...letter }, session);
      // A delivery recorded before never reached notify_record, which lets the lock go.
      if (recorded.duplicate) await unlockAfter(session, order.orderId, recorded);
    };
    const result = await mailer.send(
      { to: ready!.email, ...content, tags: { notification_id: notificationId, order_id: order.orderId, letter: outcome.letter } },
      (email) => record({ to: email.to, subject: email.subject, body: email.body, status: 'dry-run', messageId: email.messageId }),
    );
    if (!recorded) await record({ to: ready!.email, ...content, status: 'sent', messageId: result.messageId });
    return recorded!;
  });
}

async function unlockAfter(session: Queries, orderId: string, consumed: Consumed): Promise<Consumed> {
  await session.query('select notify_unlock($1)', [orderId]);
  return consumed;
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
