/**
 * A unit of work: one database transaction plus the events it produces.
 * Domain code writes through `tx.trx` and announces outcomes with
 * `tx.emit(...)`; it never learns how the events leave (a reply to the
 * Broker, or a POST to K_SINK). Every event is stored in the outbox in the
 * same transaction as the change it reports, so none is lost after a commit
 * and none exists for a rollback.
 */
import type { CloudEvent } from 'cloudevents';
import { makeEvent, type EventName, type Outgoing } from '../events/index.js';
import type { Db, Trx } from './db.js';

export type Delivery = 'reply' | 'sink';

export interface Tx {
  readonly trx: Trx;
  /** The events emitted so far in this transaction. */
  readonly emitted: readonly CloudEvent<unknown>[];
  /** Records `out` in the outbox of this transaction. */
  emit<N extends EventName>(out: Outgoing<N>): Promise<void>;
  /** Runs `work` in a savepoint; on a throw its writes and events are undone. */
  savepoint<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

class TxImpl implements Tx {
  constructor(
    readonly trx: Trx,
    private readonly source: string,
    private readonly delivery: Delivery,
    readonly emitted: CloudEvent<unknown>[],
    /** Ids to give the first events emitted, in order (e.g. a reply's id, known in advance). */
    private readonly ids: string[] = [],
  ) {}

  async emit<N extends EventName>(out: Outgoing<N>): Promise<void> {
    const event = makeEvent(this.source, out, this.ids.shift());
    await this.trx('outbox').insert({
      id: event.id,
      source: event.source,
      type: event.type,
      subject: out.subject,
      event: JSON.stringify(event.toJSON()),
      delivery: this.delivery,
      // A reply is the Broker's to publish: it redelivers until it has done so.
      published_at: this.delivery === 'reply' ? this.trx.fn.now() : null,
    });
    this.emitted.push(event as CloudEvent<unknown>);
  }

  async savepoint<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const mark = this.emitted.length;
    try {
      return await this.trx.transaction((sp) => work(new TxImpl(sp, this.source, this.delivery, this.emitted, this.ids)));
    } catch (err) {
      this.emitted.length = mark;
      throw err;
    }
  }
}

/**
 * Runs `work` in a transaction of `db` on behalf of function `fn`; returns its
 * result and the events it emitted, once committed.
 */
export async function inTransaction<T>(
  db: Db,
  fn: string,
  delivery: Delivery,
  work: (tx: Tx) => Promise<T>,
  eventIds: readonly string[] = [],
): Promise<{ result: T; events: CloudEvent<unknown>[] }> {
  const emitted: CloudEvent<unknown>[] = [];
  const result = await db.transaction((trx) => work(new TxImpl(trx, fn, delivery, emitted, [...eventIds])));
  return { result, events: emitted };
}
