/**
 * The saga reconciler (SPEC §7.4), run on each PingSource tick. Events the
 * Broker lost are found from the database: outbox events never published
 * are published, and each stalled order's `order.placed` is published
 * again, each time after a longer wait. Every step downstream dedupes on (source, id) and replies with what
 * it replied before, so the replay flows through the finished steps without
 * effect and resumes the saga exactly where it stopped.
 */
import { eventFromRow } from '../../lib/inbox.js';
import type { Db } from '../../lib/db.js';
import type { Emitter } from '../../lib/outbox.js';
import { sweepOutbox } from '../../lib/outbox.js';
import { typeOf } from '../../events/index.js';
import { markReconciled, stalledOrders } from './domain.js';

export interface ReconcileReport {
  unpublished: number;
  stalled: number;
}

export async function reconcile(db: Db, emitter: Emitter, afterSeconds: number): Promise<ReconcileReport> {
  const unpublished = await sweepOutbox(db, emitter, 2000);
  const stalled = await stalledOrders(db, afterSeconds);
  if (stalled.length > 0) {
    const rows = await db('outbox').whereIn('subject', stalled).andWhere('type', typeOf('order.placed')).select('event');
    await emitter.publish(rows.map(eventFromRow));
    await markReconciled(db, stalled);
  }
  return { unpublished, stalled: stalled.length };
}
