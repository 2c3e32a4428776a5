import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from './db.js';
import { silentLogger } from './log.js';
import { createEmitter, sweepOutbox } from './outbox.js';
import { inTransaction } from './unit-of-work.js';
import { newId } from './ids.js';
import { createTestDatabase, type TestDatabase } from '../test/db.js';
import { startSink, type Sink } from '../test/harness.js';

describe('the outbox emitter', () => {
  let t: TestDatabase;
  let sink: Sink;
  beforeAll(async () => {
    t = await createTestDatabase(4);
    sink = await startSink();
  });
  afterAll(async () => {
    await sink.close();
    await t.destroy();
  });

  /** Commits `n` slot.created events in one transaction, as a function does. */
  const commit = async (n: number) =>
    (
      await inTransaction(t.db, 'outbox-test', 'sink', async (tx) => {
        for (let i = 0; i < n; i++) {
          await tx.emit({ name: 'slot.created', subject: newId(), data: { slotId: newId(), name: `s${i}`, capacity: 1, price: 0 } });
        }
      })
    ).events;
  const unpublished = async (ids: string[]) => t.db('outbox').whereIn('id', ids).whereNull('published_at').pluck('id');

  it('publishes every event of a transaction and marks each one published', async () => {
    sink.status = 202;
    const events = await commit(3);
    const emitter = createEmitter({ db: t.db, sink: sink.url, log: silentLogger });
    const sent = await emitter.publish(events);
    expect(sent.sort()).toEqual(events.map((e) => e.id).sort());
    expect(sink.events.map((e) => e.id)).toEqual(expect.arrayContaining(events.map((e) => e.id)));
    expect(await unpublished(events.map((e) => e.id))).toEqual([]);
  });

  it('leaves events the Broker refused unpublished, and the sweep sends them once they are old enough', async () => {
    sink.status = 503;
    const events = await commit(2);
    const ids = events.map((e) => e.id);
    const emitter = createEmitter({ db: t.db, sink: sink.url, log: silentLogger });
    expect(await emitter.publish(events)).toEqual([]);
    expect((await unpublished(ids)).sort()).toEqual([...ids].sort());

    sink.status = 202;
    // Too young: the request that committed them may still be publishing.
    await sweepOutbox(t.db, emitter, 60_000);
    expect((await unpublished(ids)).length).toBe(2);
    await t.db('outbox').whereIn('id', ids).update({ created_at: t.db.raw("now() - interval '2 minutes'") });
    expect(await sweepOutbox(t.db, emitter, 60_000)).toBeGreaterThanOrEqual(2);
    expect(await unpublished(ids)).toEqual([]);
  });

  it('without a sink, publishes nothing and leaves the events for the sweep', async () => {
    const events = await commit(1);
    const emitter = createEmitter({ db: t.db, sink: undefined, log: silentLogger });
    expect(await emitter.publish(events)).toEqual([]);
    expect(await unpublished([events[0]!.id])).toEqual([events[0]!.id]);
  });

  it('reports no error when the mark cannot be written: the events stay unpublished for the sweep', async () => {
    sink.status = 202;
    const events = await commit(1);
    const closed = createDb({ url: t.url, poolMax: 1 });
    await closed.destroy();
    const emitter = createEmitter({ db: closed, sink: sink.url, log: silentLogger });
    expect(await emitter.publish(events)).toEqual([events[0]!.id]);
    expect(await unpublished([events[0]!.id])).toEqual([events[0]!.id]);
  });
});
