/**
 * The one dedupe mechanism for deliveries: each consumer records the
 * (source, id) of every event it handles in the same transaction as the
 * effect. A redelivery finds the record, changes nothing, and gets the
 * reply the first delivery produced, so a reply lost on its way to the
 * Broker is sent again and the saga cannot stall on it.
 */
import { CloudEvent } from 'cloudevents';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { inTransaction, type Tx } from './unit-of-work.js';

export interface Delivered {
  source: string;
  id: string;
  type: string;
}

export interface Consumed {
  duplicate: boolean;
  /** The event to reply with, if the handling produced one. */
  reply: CloudEvent<unknown> | null;
}

/** Rebuilds a stored CloudEvent from its outbox row. */
export function eventFromRow(row: { event: unknown }): CloudEvent<unknown> {
  const attributes = typeof row.event === 'string' ? JSON.parse(row.event) : row.event;
  return new CloudEvent(attributes as Record<string, unknown>, false) as CloudEvent<unknown>;
}

/**
 * Handles `delivered` at most once for `consumer`. Concurrent duplicates
 * serialize on the inbox's primary key: the second waits for the first to
 * commit, then sees it as a duplicate.
 */
export async function consumeOnce(
  db: Db,
  consumer: string,
  delivered: Delivered,
  handle: (tx: Tx) => Promise<void>,
): Promise<Consumed> {
  // The reply's id is chosen before the handler runs, so the inbox row names
  // it from the start: one statement fewer per delivery. A handler that
  // emits nothing leaves the id pointing at no event, which reads as no reply.
  const replyId = newId();
  const { result, events } = await inTransaction(db, consumer, 'reply', async (tx) => {
    const inserted = await tx.trx('inbox')
      .insert({ consumer, source: delivered.source, id: delivered.id, type: delivered.type, reply_event_id: replyId })
      .onConflict(['consumer', 'source', 'id'])
      .ignore()
      .returning('id');
    if (inserted.length === 0) {
      const row = await tx.trx('inbox as i')
        .leftJoin('outbox as o', 'o.id', 'i.reply_event_id')
        .where({ 'i.consumer': consumer, 'i.source': delivered.source, 'i.id': delivered.id })
        .first('o.event');
      return { duplicate: true, stored: row?.event ? eventFromRow(row) : null };
    }
    await handle(tx);
    if (tx.emitted.length > 1) {
      throw new Error(`${consumer} produced ${tx.emitted.length} events for one delivery; a reply carries one`);
    }
    return { duplicate: false, stored: null };
  }, [replyId]);
  if (result.duplicate) return { duplicate: true, reply: result.stored };
  return { duplicate: false, reply: events[0] ?? null };
}
