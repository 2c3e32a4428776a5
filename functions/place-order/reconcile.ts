/**
 * The saga reconciler (SPEC §7.4), run on each PingSource tick. Events the
 * Broker lost are found from the database: outbox events never published
 * are published, and each stalled order's `order.placed` is published
 * again, each time after a longer wait. Every step downstream dedupes on
 * (source, id) and replies with what it replied before, so the replay flows
 * through the finished steps without effect and resumes the saga exactly
 * where it stopped.
 */
import type { SagaEvent } from '../../lib/messaging.js';
import type { Sql } from '../../lib/pg.js';
import { sweepOutbox, type Publisher } from '../../lib/publisher.js';
import { typeOf } from '../../events/index.js';
import { markReconciled, stalledOrders } from './domain.js';

export interface ReconcileReport {
  unpublished: number;
  stalled: number;
}

export async function reconcile(sql: Sql, publisher: Publisher, afterSeconds: number): Promise<ReconcileReport> {
  const unpublished = await sweepOutbox(sql, publisher, 2000);
  const stalled = await stalledOrders(sql, afterSeconds);
  if (stalled.length > 0) {
    const rows = await sql.query<{ event: SagaEvent }>('select event from outbox where subject = any($1::text[]) and type = $2', [stalled, typeOf('order.placed')]);
    await publisher.publish(rows.map((r) => r.event));
    await markReconciled(sql, stalled);
  }
  return { unpublished, stalled: stalled.length };
}
