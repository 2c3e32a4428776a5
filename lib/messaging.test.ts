/**
 * The messaging routines, called directly against a real PostgreSQL with
 * test steps: once-only deliveries (inbox), the reply or K_SINK delivery of
 * what a step produced (outbox), and Idempotency-Key requests.
 */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test/db.js';
import { snapshot } from '../test/fixtures.js';
import { ConflictError, IdempotencyMismatchError, NotFoundError, ValidationError, fromDatabaseError } from './errors.js';
import { newId } from './ids.js';
import { change, consume, fingerprintOf, idempotent, requireIdempotencyKey, type IdempotencyKey } from './messaging.js';
import { stepNamesOf, stepWrappers } from './messaging.sql.js';

describe('the request fingerprint', () => {
  it('does not depend on the order of keys, at any depth', () => {
    expect(fingerprintOf('POST', '/a', { amount: 1, note: { x: 1, y: [1, 2] } })).toBe(fingerprintOf('POST', '/a', { note: { y: [1, 2], x: 1 }, amount: 1 }));
  });

  it.each([
    ['another value', ['POST', '/a', { amount: 2 }]],
    ['another type of the same value', ['POST', '/a', { amount: '1' }]],
    ['another path', ['POST', '/b', { amount: 1 }]],
    ['another method', ['PUT', '/a', { amount: 1 }]],
    ['an extra field', ['POST', '/a', { amount: 1, extra: null }]],
  ] as const)('changes with %s', (_, [method, path, body]) => {
    expect(fingerprintOf(method, path, body)).not.toBe(fingerprintOf('POST', '/a', { amount: 1 }));
  });

  it('depends on the order of array items', () => {
    expect(fingerprintOf('POST', '/a', [1, 2])).not.toBe(fingerprintOf('POST', '/a', [2, 1]));
  });
});

describe('the Idempotency-Key header', () => {
  it('is returned as given when it is 1 to 255 visible ASCII characters', () => {
    expect(requireIdempotencyKey('order-1')).toBe('order-1');
    expect(requireIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['with a space', 'a b'],
    ['too long', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])('is refused with ValidationError when %s', (_, header) => {
    expect(() => requireIdempotencyKey(header)).toThrow(ValidationError);
  });
});

// Test steps: each writes a row to `slots` (so an effect is visible) and emits what its input asks for.
const TEST_STEPS = String.raw`
create or replace function test_step(p json)
returns json language plpgsql as $$
declare
  v_events json[] := '{}';
begin
  if p->>'raise' is not null then
    insert into slots (id, name, capacity, price, reserved) values (gen_random_uuid(), 'undone', 1, 0, 0);
    raise exception 'refused by the test' using errcode = p->>'raise';
  end if;
  if p->>'sleep' is not null then
    perform pg_sleep((p->>'sleep')::float);
  end if;
  insert into slots (id, name, capacity, price, reserved) values (gen_random_uuid(), coalesce(p->>'name', 'effect'), 1, 0, 0);
  for i in 1..coalesce((p->>'events')::int, 0) loop
    v_events := v_events || saga_out('slot.created', 'subject-' || i, json_build_object('slotId', gen_random_uuid(), 'name', 'n', 'capacity', 1, 'price', 0));
  end loop;
  return json_build_object('result', json_build_object('status', 201, 'body', json_build_object('n', coalesce(p->>'name', 'effect'))),
                           'events', array_to_json(v_events));
end $$;
`;

const t = useTestDatabase({ setup: (db) => db.raw(TEST_STEPS + stepWrappers('test_step')) });

describe('a step run for a delivery (<step>__consume)', () => {
  const delivery = () => ({ source: '/test', id: newId(), type: 'dev.ordersaga.test' });

  it.each([
    [0, 'no event: an ack', 'none'],
    [1, 'one event: the reply, under the id chosen for it', 'reply'],
    [3, 'several events: all for K_SINK, unpublished', 'sink'],
  ] as const)('with %i produced, answers %s', async (count, _, delivery_) => {
    const replyId = newId();
    const consumed = await consume(t.sql, 'tester', delivery(), replyId, 'test_step', { events: count });
    expect(consumed.duplicate).toBe(false);
    expect(consumed.events).toHaveLength(count);
    const rows = await t.db('outbox').whereIn('id', consumed.events.map((e) => e.id)).select('delivery', 'published_at', 'id');
    expect(rows.map((r) => r.delivery)).toEqual(Array(count).fill(delivery_));
    if (delivery_ === 'reply') {
      expect(consumed.events[0]!.id).toBe(replyId);
      expect(rows[0]!.published_at).not.toBeNull();
    }
    if (delivery_ === 'sink') expect(rows.every((r) => r.published_at === null)).toBe(true);
  });

  it('produces CloudEvents with the envelope of SPEC §2', async () => {
    const [event] = (await consume(t.sql, 'tester', delivery(), newId(), 'test_step', { events: 1 })).events;
    expect(event).toEqual({
      specversion: '1.0',
      id: expect.any(String),
      source: '/ordersaga/tester',
      type: 'dev.ordersaga.slot.created',
      subject: 'subject-1',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      datacontenttype: 'application/json',
      dataschema: 'https://ordersaga.dev/events/slot.created.json',
      data: { slotId: expect.any(String), name: 'n', capacity: 1, price: 0 },
    });
  });

  it('a redelivery changes nothing and gets the reply the first delivery got', async () => {
    const d = delivery();
    const first = await consume(t.sql, 'tester', d, newId(), 'test_step', { events: 1 });
    const before = await snapshot(t.db);
    const again = await consume(t.sql, 'tester', d, newId(), 'test_step', { events: 1 });
    expect(again).toEqual({ duplicate: true, events: first.events });
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('the same delivery to another consumer is its own', async () => {
    const d = delivery();
    await consume(t.sql, 'tester', d, newId(), 'test_step', {});
    expect((await consume(t.sql, 'other', d, newId(), 'test_step', {})).duplicate).toBe(false);
  });

  it('concurrent duplicates run the step once: the others wait, then get its reply', async () => {
    const d = delivery();
    const name = `race-${newId()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => consume(t.sql, 'tester', d, newId(), 'test_step', { events: 1, name, sleep: 0.05 })));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.events[0]!.id)).size).toBe(1);
    expect(await t.db('slots').where({ name }).count()).toEqual([{ count: 1 }]);
  });

  it('a step that fails records nothing, so the delivery can run again', async () => {
    const d = delivery();
    const before = await snapshot(t.db);
    await expect(consume(t.sql, 'tester', d, newId(), 'test_step', { raise: 'OS404' })).rejects.toMatchObject({ code: 'OS404' });
    expect(await snapshot(t.db)).toEqual(before);
    expect((await consume(t.sql, 'tester', d, newId(), 'test_step', {})).duplicate).toBe(false);
  });
});

describe('a request under an Idempotency-Key (<step>__idempotent)', () => {
  const key = (overrides: Partial<IdempotencyKey> = {}): IdempotencyKey => ({ scope: newId(), key: 'k', fingerprint: 'f', ...overrides });
  const run = (id: IdempotencyKey, input: unknown) => idempotent(t.sql, 'tester', id, 'test_step', input).catch((err: unknown) => Promise.reject(fromDatabaseError(err)));

  it('runs the step the first time, then replays its response without running it', async () => {
    const id = key();
    const first = await run(id, { name: 'once', events: 2 });
    expect(first).toMatchObject({ replayed: false, status: 201, body: { n: 'once' } });
    expect(first.events).toHaveLength(2);
    const again = await run(id, { name: 'once', events: 2 });
    expect(again).toEqual({ replayed: true, status: 201, body: { n: 'once' }, events: [] });
    expect(await t.db('slots').where({ name: 'once' }).count()).toEqual([{ count: 1 }]);
  });

  it('refuses the same key with another fingerprint (422)', async () => {
    const id = key();
    await run(id, {});
    await expect(run({ ...id, fingerprint: 'other' }, {})).rejects.toThrow(IdempotencyMismatchError);
  });

  it('scopes keys: the same key in another scope runs again', async () => {
    const id = key();
    await run(id, {});
    expect((await run({ ...id, scope: newId() }, {})).replayed).toBe(false);
  });

  it("stores a business refusal (OS409) as a 409 problem and replays it; the refusal's writes are undone", async () => {
    const id = key();
    const before = await snapshot(t.db);
    const refused = await run(id, { raise: 'OS409' });
    expect(refused).toMatchObject({ replayed: false, status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, detail: 'refused by the test' } });
    expect(await t.db('slots').where({ name: 'undone' }).count()).toEqual([{ count: 0 }]);
    expect((await run(id, {})).replayed).toBe(true);
    const after = await snapshot(t.db);
    expect(after.slots).toBe(before.slots);
  });

  it.each([
    ['OS404', NotFoundError],
    ['OS400', ValidationError],
  ])('stores nothing when the step fails otherwise (%s), so the client may retry', async (code, named) => {
    const id = key();
    await expect(run(id, { raise: code })).rejects.toThrow(named);
    expect((await run(id, {})).replayed).toBe(false);
  });

  it('runs a retry sent the moment a failed request answers, never taking it for one still in flight', async () => {
    // PostgreSQL answers the failure before it releases the failed transaction's locks.
    for (let i = 0; i < 25; i++) {
      const id = key();
      await expect(run(id, { raise: 'OS400' })).rejects.toThrow(ValidationError);
      expect((await run(id, {})).replayed).toBe(false);
    }
  });

  it('answers 409 to the same key while the first is still running', async () => {
    const id = key();
    const first = run(id, { sleep: 0.3 });
    await new Promise((r) => setTimeout(r, 100));
    await expect(run(id, {})).rejects.toThrow(ConflictError);
    expect((await first).replayed).toBe(false);
  });

  it('a held record answers 409 until its hold is released or expires', async () => {
    const id = key({ holdSeconds: 1 });
    await run(id, {});
    await expect(run(id, {})).rejects.toThrow(ConflictError);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await run(id, {})).replayed).toBe(true);
  });
});

describe('a request that needs no key (<step>__change)', () => {
  it('returns the result and its events, for K_SINK', async () => {
    const { result, events } = await change(t.sql, 'tester', 'test_step', { events: 1 });
    expect(result).toEqual({ status: 201, body: { n: 'effect' } });
    expect(await t.db('outbox').where({ id: events[0]!.id }).first('delivery', 'published_at')).toEqual({ delivery: 'sink', published_at: null });
  });
});

describe('the step wrappers', () => {
  it('are made for every step routine (one json argument, json result), and only those', () => {
    expect(stepNamesOf([TEST_STEPS, 'create or replace function not_a_step(p_id uuid) returns json as $$ $$;'])).toEqual(['test_step']);
  });

  it('refuse a name that is not an identifier', () => {
    expect(() => stepWrappers('x; drop table accounts')).toThrow('not a step routine');
  });
});
