/** Publishing produced events to K_SINK, marking them published, and the sweep of what was left. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test/db.js';
import { startSink, type Sink } from '../test/harness.js';
import { silentLogger } from './log.js';
import { change, type SagaEvent } from './messaging.js';
import { createSql } from './pg.js';
import { createPublisher, sweepOutbox } from './publisher.js';

describe('the publisher', () => {
  const t = useTestDatabase();
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(() => sink.close());

  /** Commits `count` slot.created events for K_SINK, unpublished. */
  const commit = async (count: number): Promise<SagaEvent[]> => {
    const events: SagaEvent[] = [];
    for (let i = 0; i < count; i++) {
      const slotId = crypto.randomUUID();
      events.push(...(await change(t.sql, 'publisher-test', 'slots_create', { slotId, name: `s${i}`, capacity: 1, price: 0 })).events);
    }
    return events;
  };
  const publishedAt = async (events: SagaEvent[]) =>
    (await t.db('outbox').whereIn('id', events.map((e) => e.id)).orderBy('id').pluck('published_at')).map((v: Date | null) => v !== null);

  it.each([0, 20])('publishes each event in binary mode and marks it published (marks gathered for %i ms)', async (markDelayMs) => {
    sink.events.length = 0;
    const publisher = createPublisher({ sql: t.sql, sink: sink.url, log: silentLogger, markDelayMs });
    const events = await commit(3);
    expect(await publisher.publish(events)).toEqual(expect.arrayContaining(events.map((e) => e.id)));
    await publisher.close();
    expect(sink.events.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(sink.events[0]).toMatchObject({ source: '/ordersaga/publisher-test', type: 'dev.ordersaga.slot.created', datacontenttype: 'application/json' });
    expect(await publishedAt(events)).toEqual([true, true, true]);
  });

  it('leaves events the Broker refused unpublished, and the sweep sends them once they are old enough', async () => {
    const publisher = createPublisher({ sql: t.sql, sink: sink.url, log: silentLogger, markDelayMs: 0 });
    sink.status = 503;
    const events = await commit(2);
    expect(await publisher.publish(events)).toEqual([]);
    expect(await publishedAt(events)).toEqual([false, false]);
    sink.status = 202;
    sink.events.length = 0;
    expect(await sweepOutbox(t.sql, publisher, 60_000)).toBe(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(await sweepOutbox(t.sql, publisher, 10)).toBeGreaterThanOrEqual(2);
    expect(sink.events.map((e) => e.id)).toEqual(expect.arrayContaining(events.map((e) => e.id)));
    expect(await publishedAt(events)).toEqual([true, true]);
    await publisher.close();
  });

  it('without a sink, publishes nothing and leaves the events for the sweep', async () => {
    const publisher = createPublisher({ sql: t.sql, sink: undefined, log: silentLogger });
    const events = await commit(1);
    expect(await publisher.publish(events)).toEqual([]);
    expect(await publishedAt(events)).toEqual([false]);
    await publisher.close();
  });

  it('reports no error when the mark cannot be written: the events stay unpublished for the sweep', async () => {
    const closed = createSql({ url: t.url });
    await closed.end();
    const publisher = createPublisher({ sql: closed, sink: sink.url, log: silentLogger, markDelayMs: 0 });
    const events = await commit(1);
    expect(await publisher.publish(events)).toEqual([events[0]!.id]);
    expect(await publishedAt(events)).toEqual([false]);
    await publisher.close();
  });
});
