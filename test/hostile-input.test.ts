/**
 * Hostile input, generated: random and malformed JSON at every route, random
 * and malformed CloudEvents at every function. Whatever arrives, the answer
 * is 2xx or 4xx (never a 5xx, never a crash, never a stack trace) and SPEC §7
 * still holds afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../lib/invariants.js';
import { newId } from '../lib/ids.js';
import { EVENT_NAMES, typeOf } from '../events/index.js';
import { FUNCTIONS, SAGA_EDGES } from '../functions/registry.js';
import { flatSchemaOf } from '../events/flat.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { seedAccount, seedSlot } from './fixtures.js';
import { TEST_ADMIN_TOKEN, request } from './harness.js';
import { startSagaStack, type SagaStack } from './saga-driver.js';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);

interface Ids {
  account: string;
  other: string;
  slot: string;
  order: string;
}

/** Every REST route of every function, from the registry, with its path parameters filled from `ids`. */
const ROUTES = FUNCTIONS.flatMap((fn) =>
  fn.routes.map((route) => ({
    fn: fn.name,
    method: route.method,
    template: route.path,
    path: (ids: Ids) =>
      route.path.replace(/:(\w+)/g, (_, param: string) => ({ accountId: ids.account, slotId: ids.slot, orderId: ids.order })[param] ?? ids.order),
  })),
);

/** One seed for every property, printed by fast-check on a failure so that it can be replayed (FC_SEED=…). */
const SEED = Number(process.env.FC_SEED ?? 20_261_202);

/** Bodies that are JSON of any shape, near-miss shapes, or not JSON at all. */
const body = fc.oneof(
  fc.json().map((raw) => ({ raw, type: 'application/json' })),
  fc.record(
    {
      email: fc.oneof(fc.emailAddress(), fc.string(), fc.integer()),
      name: fc.oneof(fc.string(), fc.constant(''), fc.integer()),
      amount: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.bigInt().map(String)),
      capacity: fc.oneof(fc.integer(), fc.double()),
      price: fc.oneof(fc.integer(), fc.double()),
      accountId: fc.oneof(fc.uuid(), fc.string()),
      slotId: fc.oneof(fc.uuid(), fc.string()),
      seats: fc.oneof(fc.integer(), fc.double(), fc.string()),
      orderId: fc.oneof(fc.uuid(), fc.string()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ).map((v) => ({ raw: JSON.stringify(v), type: 'application/json' })),
  fc.string().map((raw) => ({ raw, type: 'application/json' })),
  fc.string().map((raw) => ({ raw, type: fc.sample(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded'), 1)[0]! })),
);

/** Bodies shaped like the real ones, with values anywhere in or just outside their ranges. */
const plausible = (ids: { account: string; slot: string }) =>
  fc
    .oneof(
      fc.record({ amount: fc.integer({ min: -10, max: 2 ** 40 }) }),
      fc.record({ email: fc.emailAddress(), name: fc.string({ minLength: 1, maxLength: 30 }) }),
      fc.record({ name: fc.string({ minLength: 1, maxLength: 30 }), capacity: fc.integer({ min: -1, max: 50 }), price: fc.integer({ min: -1, max: 10_000 }) }),
      fc.record(
        { accountId: fc.constantFrom(ids.account, newId()), slotId: fc.constantFrom(ids.slot, newId()), seats: fc.integer({ min: 0, max: 8 }), orderId: fc.uuid() },
        { requiredKeys: ['accountId', 'slotId'] },
      ),
    )
    .map((v) => ({ raw: JSON.stringify(v), type: 'application/json' }));

/** Random ids: real ones, someone else's, unknown ones, and non-ids. */
const idFrom = (real: string, other: string) => fc.oneof(fc.constant(real), fc.constant(other), fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent));

describe('hostile input', () => {
  let t: TestDatabase;
  let stack: SagaStack;
  let me: { id: string; token: string };
  let other: { id: string; token: string };
  let slot: string;

  beforeAll(async () => {
    t = await createTestDatabase(20);
    stack = await startSagaStack(t.url);
    me = await seedAccount(t.db, 50_000);
    other = await seedAccount(t.db, 50_000);
    slot = await seedSlot(t.db, 5, 1_000);
  });
  afterAll(async () => {
    await stack.close();
    await t.destroy();
  });

  it('every route answers random requests with 2xx or 4xx, never a 5xx or internals', async () => {
    const statuses = new Map<number, number>();
    const succeeded = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(body, plausible({ account: me.id, slot })),
        idFrom(me.id, other.id),
        idFrom(slot, newId()),
        fc.constantFrom<'mine' | 'other' | 'admin' | 'none' | 'garbage'>('mine', 'other', 'admin', 'none', 'garbage'),
        fc.option(fc.string({ minLength: 1, maxLength: 60 }), { nil: undefined }),
        async (route, b, account, slotId, who, key) => {
          const token = { mine: me.token, other: other.token, admin: TEST_ADMIN_TOKEN, none: undefined, garbage: 'v1.x.y' }[who];
          const res = await request(stack.urls[route.fn]!, route.method, route.path({ account, other: other.id, slot: slotId, order: newId() }), {
            raw: route.method === 'POST' ? b.raw : undefined,
            token,
            headers: { ...(route.method === 'POST' ? { 'content-type': b.type } : {}), ...(key ? { 'idempotency-key': key } : {}) },
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status < 300) succeeded.add(`${route.method} ${route.template}`);
          expect(res.status, `${route.method} ${route.path({ account, other: other.id, slot: slotId, order: '-' })} → ${res.text}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|select |insert |update /i);
          }
        },
      ),
      { numRuns: RUNS * 3, seed: SEED },
    );
    const seen = JSON.stringify(Object.fromEntries(statuses));
    // Random input gets through to a success on several routes, not only refusals.
    expect(succeeded.size, `routes that answered 2xx: ${[...succeeded].join(', ')}; statuses seen: ${seen}`).toBeGreaterThanOrEqual(4);
    // Random input reaches refusals of more than one kind, not just one wall.
    expect([...statuses.keys()].filter((s) => s >= 400 && s < 500).length, `statuses seen: ${seen}`).toBeGreaterThanOrEqual(2);
  });

  it('every function answers random and malformed CloudEvents with 2xx or 400, never a 5xx', async () => {
    const statuses = new Map<number, number>();
    // Each saga edge with data that fits its schema but names random orders, accounts and slots.
    const fitting = fc.constantFrom(...SAGA_EDGES).chain((edge) =>
      fc
        .record({
          orderId: fc.uuid(),
          accountId: fc.constantFrom(me.id, other.id, newId()),
          slotId: fc.constantFrom(slot, newId()),
          seats: fc.integer({ min: 1, max: 6 }),
          amount: fc.integer({ min: 0, max: 60_000 }),
          balance: fc.integer({ min: 0, max: 60_000 }),
          reason: fc.constantFrom('sold_out', 'unknown_slot', 'insufficient_funds', 'payment_timeout', 'customer_cancelled'),
          payWithin: fc.integer({ min: 0, max: 30 }),
          deadline: fc.date({ min: new Date(), max: new Date(Date.now() + 60_000), noInvalidDate: true }).map((d) => d.toISOString()),
          email: fc.emailAddress(),
          name: fc.string({ minLength: 1, maxLength: 20 }),
          depositId: fc.uuid(),
        })
        .map((all) => {
          const { properties } = flatSchemaOf(edge.event);
          const data = Object.fromEntries(Object.entries(all).filter(([k]) => k in properties));
          return { fn: edge.subscriber as string, type: typeOf(edge.event), data: JSON.stringify(data), headers: { 'ce-specversion': '1.0', 'ce-id': newId(), 'ce-source': '/hostile' } as Record<string, string> };
        }),
    );
    const broken = fc.record({
      fn: fc.constantFrom(...FUNCTIONS.filter((f) => Object.keys(f.consumes).length > 0).map((f) => f.name)),
      type: fc.oneof(fc.constantFrom(...EVENT_NAMES).map(typeOf), fc.string(), fc.constant('dev.knative.sources.ping')),
      data: fc.oneof(fc.json(), fc.string(), fc.anything().map((v) => JSON.stringify(v) ?? 'null')),
      headers: fc.record(
        {
          'ce-specversion': fc.constantFrom('1.0', '0.3', '2.0', ''),
          'ce-id': fc.oneof(fc.uuid(), fc.string()),
          'ce-source': fc.oneof(fc.constant('/hostile'), fc.string()),
          'ce-datacontenttype': fc.constantFrom('application/json', 'text/plain'),
        },
        { requiredKeys: ['ce-specversion'] },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fitting, broken), async ({ fn, type, data, headers }) => {
        const res = await request(stack.urls[fn]!, 'POST', '/', {
          raw: data,
          headers: { ...headers, 'ce-type': type, 'content-type': 'application/json' },
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 202, 204, 400], `${fn} ${type} → ${res.status} ${res.text}`).toContain(res.status);
      }),
      { numRuns: RUNS * 4, seed: SEED },
    );
    // The properties must reach the domain code, not only the validators.
    expect((statuses.get(200) ?? 0) + (statuses.get(204) ?? 0)).toBeGreaterThan(RUNS / 2);
  });

  it('after all that, nothing was charged or booked that SPEC §7 forbids', async () => {
    const report = await checkInvariants(t.db, { graceSeconds: 3600 });
    expect(report.violations).toEqual([]);
    // The random deposits and orders that got through moved money, every cent of it in the ledger (invariant 1 above).
    const { rows } = await t.db.raw("select count(*) as n from ledger where kind in ('deposit', 'charge', 'withdrawal')");
    expect(Number(rows[0].n)).toBeGreaterThan(2);
  });
});
