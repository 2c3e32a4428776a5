/**
 * The trace context of a saga, step by step against a real PostgreSQL: what
 * each produced event carries (in its CloudEvent and in the outbox), and
 * the CloudEvents spans around it, read back from a real SDK.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../ids.js';
import { createLogger } from '../log.js';
import { change, consume, NO_EFFECT, type SagaEvent } from '../messaging.js';
import { createSql, type Sql } from '../pg.js';
import { createTestDatabase, type TestDatabase } from '../../test/db.js';
import { seedAccount, seedSlot } from '../../test/fixtures.js';
import { extensionOf, spanContextOf, traceContextOf } from './context.js';
import { processing, producing, publishing } from './events.js';
import { traceparentOf, useTestTracing } from './testing.js';

const tracing = useTestTracing();
let t: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  t = await createTestDatabase();
  sql = createSql({ url: t.url, poolMax: 2, applicationName: 'tracing-test' });
});
afterAll(async () => {
  await sql.end();
  await t.destroy();
});
beforeEach(() => tracing.reset());

/** A context of some other saga, as an event from elsewhere carries it. */
const elsewhere = () => ({ traceparent: `00-${newId().replace(/-/g, '')}-${newId().replace(/-/g, '').slice(0, 16)}-01`, tracestate: 'vendor=1' });
const delivered = (type: string, trace?: { traceparent: string; tracestate?: string }) => ({ id: newId(), source: '/test', type: `dev.ordersaga.${type}`, subject: undefined, ...trace });
const spansNamed = (name: string) => tracing.spans().filter((s) => s.name === name);
const outboxEvent = async (id: string) => (await t.db('outbox').where({ id }).first('event')).event as SagaEvent;

describe('trace context', () => {
  it('reads the extension only when it is well formed, and writes it back the same', () => {
    const carried = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61rcWkgMzE' };
    expect(traceContextOf(spanContextOf(carried)!)).toEqual(carried);
    for (const bad of ['', 'junk', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 42]) {
      expect(extensionOf({ traceparent: bad }), String(bad)).toBeUndefined();
    }
  });
});

describe('producing', () => {
  it("gives the saga's first event the context of its own producer span, in the event and in the outbox", async () => {
    const [root, events] = await tracing.inRequest(async (span) => {
      const { events } = await producing(undefined, (tc) => change(sql, 'reserve-slot', 'slots_create', { slotId: newId(), name: 'Race', capacity: 2, price: 30 }, tc), (r) => r.events);
      return [span, events] as const;
    });
    const [created] = spansNamed('CloudEvents Create dev.ordersaga.slot.created');
    expect(created!.kind).toBe(SpanKind.PRODUCER);
    expect(created!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(created!.attributes).toEqual({
      'cloudevents.event_id': events[0]!.id,
      'cloudevents.event_source': '/ordersaga/reserve-slot',
      'cloudevents.event_type': 'dev.ordersaga.slot.created',
      'cloudevents.event_subject': events[0]!.subject,
    });
    expect(events[0]!.traceparent).toBe(traceparentOf(created!));
    expect((await outboxEvent(events[0]!.id)).traceparent).toBe(traceparentOf(created!));
  });

  it('exports no producer span for a step that produced nothing', async () => {
    await tracing.inRequest(() => producing(undefined, (tc) => consume(sql, 'notify', delivered('order.confirmed'), newId(), NO_EFFECT, {}, tc), (r) => r.events));
    expect(tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER)).toEqual([]);
  });

  it("carries the consumed event's context unchanged, under a Process span linked to it", async () => {
    const carried = elsewhere();
    const event = delivered('order.placed', carried);
    const slotId = await seedSlot(t.db, 2, 30);
    const input = { orderId: newId(), accountId: newId(), slotId, seats: 1, amount: 30, payWithin: 0 };
    const consumed = await tracing.inRequest(() =>
      processing(event, () => producing(extensionOf(event), (tc) => consume(sql, 'reserve-slot', event, newId(), 'slots_reserve', input, tc), (r) => r.events)),
    );
    expect(consumed.events).toHaveLength(1);
    expect(consumed.events[0]).toMatchObject(carried);
    const [process] = spansNamed('CloudEvents Process dev.ordersaga.order.placed');
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.links.map((l) => l.context.spanId)).toEqual([carried.traceparent.split('-')[2]]);
    const [reserved] = spansNamed('CloudEvents Create dev.ordersaga.slot.reserved');
    expect(reserved!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
  });

  it("keeps a waiting order's context with its payment: the deposit that pays it reports to the order's trace, linked both ways", async () => {
    const order = elsewhere();
    const account = (await seedAccount(t.db, 0)).id;
    const input = { orderId: newId(), accountId: account, slotId: newId(), seats: 1, amount: 100, payWithin: 60 };
    const awaiting = await consume(sql, 'charge', delivered('slot.reserved', order), newId(), 'charge_order', input, order);
    expect(awaiting.events[0]).toMatchObject({ type: 'dev.ordersaga.payment.awaiting', ...order });
    await seedDeposit(account, 500);

    const deposit = elsewhere();
    const event = delivered('account.deposited', deposit);
    const [work, resumed] = await tracing.inRequest(async (span) => [
      span,
      await producing(deposit, (tc) => consume(sql, 'charge', event, newId(), 'charge_resume', { accountId: account }, tc), (r) => r.events),
    ] as const);
    expect(resumed.events).toEqual([expect.objectContaining({ type: 'dev.ordersaga.payment.charged', ...order })]);
    const [charged] = spansNamed('CloudEvents Create dev.ordersaga.payment.charged');
    expect(charged!.spanContext().traceId).toBe(order.traceparent.split('-')[1]);
    expect(charged!.links.map((l) => l.context.spanId)).toEqual([work.spanContext().spanId]);
    const [request] = spansNamed('POST');
    expect(request!.links.map((l) => l.context.traceId)).toEqual([order.traceparent.split('-')[1]]);
  });

  it("gives a customer's cancellation the context of its order's order.placed", async () => {
    const { id: account } = await seedAccount(t.db, 0);
    const orderId = newId();
    const placing = elsewhere();
    await consume(sql, 'place-order', delivered('order.requested'), newId(), 'orders_place', { orderId, accountId: account, slotId: newId(), seats: 1, payWithin: 60 }, placing);
    await t.db('orders').where({ id: orderId }).update({ status: 'awaiting_funds' });
    const { events } = await tracing.inRequest(() =>
      producing(undefined, (tc) => change(sql, 'place-order', 'orders_request_cancel', { orderId, accountId: account }, tc), (r) => r.events),
    );
    expect(events).toEqual([expect.objectContaining({ type: 'dev.ordersaga.order.cancellation.requested', ...placing })]);
  });
});

describe('publishing', () => {
  it('sends an event under its producer span, and one produced earlier under its own saga, linked from the work that sends it', async () => {
    const redriven = { id: newId(), source: '/ordersaga/place-order', type: 'dev.ordersaga.order.placed', ...elsewhere() };
    const [work, fresh, sentUnder] = await tracing.inRequest(async (span) => {
      const { events } = await producing(undefined, (tc) => change(sql, 'reserve-slot', 'slots_create', { slotId: newId(), name: 'R', capacity: 1, price: 1 }, tc), (r) => r.events);
      const under = async (event: object) => publishing(event as SagaEvent, async () => trace.getActiveSpan()!.spanContext());
      return [span, events[0]!, [await under(events[0]!), await under(redriven)]] as const;
    });
    expect(sentUnder[0]!.spanId).toBe(fresh.traceparent!.toString().split('-')[2]);
    expect(sentUnder[1]).toMatchObject({ traceId: redriven.traceparent.split('-')[1], spanId: redriven.traceparent.split('-')[2] });
    const [request] = spansNamed('POST');
    expect(request!.spanContext().spanId).toBe(work.spanContext().spanId);
    expect(request!.links.map((l) => l.context.traceId)).toEqual([redriven.traceparent.split('-')[1]]);
  });
});

describe('logs', () => {
  it('carry the trace_id and span_id of the span at work, and none outside one', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const log = createLogger('test', { destination });
    log.info('outside');
    const span = await tracing.inRequest(async (s) => (log.info('inside'), s));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({ message: 'inside', trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
  });
});

async function seedDeposit(accountId: string, amount: number): Promise<void> {
  await t.db.raw('select deposit_add(?::json)', [JSON.stringify({ accountId, depositId: newId(), amount })]);
}
