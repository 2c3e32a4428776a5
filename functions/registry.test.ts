/**
 * The saga map (functions/registry.ts) against everything derived from it:
 * the Knative manifests (Triggers both ways, Services, the SinkBinding, the
 * PingSources), and the functions themselves: every consumer, delivered a
 * real event, emits only what it declares, a redelivery changes nothing
 * and gets the same reply, and a delivery while the database is unreachable
 * is a 503 (so the Broker retries) that changes nothing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvent, typeOf, validateData, type EventData, type EventName } from '../events/index.js';
import { defineFunction } from '../lib/function.js';
import { newId } from '../lib/ids.js';
import { baseOptions } from '../lib/runtime.js';
import { createTestDatabase, type TestDatabase } from '../test/db.js';
import { runStep, seedAccount, seedSlot, snapshot } from '../test/fixtures.js';
import { cloudEvent, deliver, recordingLogger, serveDefinition, startSink, unreachable, type ServedFunction, type Sink } from '../test/harness.js';
import { dig, isKind, loadDirectory, nameOf, subjectMatches, type Manifest } from '../knative/model/index.js';
import { kubectlAvailable, renderKustomize } from '../knative/testing.js';
import { REPO_ROOT } from '../knative/validate.js';
import { FUNCTIONS, OBSERVERS, SAGA_EDGES, SAGA_FUNCTIONS, TERMINAL_EVENTS, type SagaEdge } from './registry.js';

// The dev overlay when kubectl can render it (it adds the observers), else knative/base as the stand-in reads it.
const rendered = kubectlAvailable();
const docs: Manifest[] = rendered
  ? renderKustomize(path.join(REPO_ROOT, 'knative', 'overlays', 'dev')).docs
  : loadDirectory(path.join(REPO_ROOT, 'knative', 'base')).docs;
const ofKind = (group: string, kind: string) => docs.filter((d) => isKind(d, group, kind));
const observers = rendered ? OBSERVERS : [];
const isObserverTrigger = (t: Manifest) => dig(t, 'metadata', 'labels', 'ordersaga.dev/observer') === 'true';
const triggerName = (edge: { event: string; subscriber: string }) => `${edge.subscriber}-on-${edge.event.replace(/\./g, '-')}`;

describe('the Knative manifests follow the saga map', () => {
  const triggers = ofKind('eventing.knative.dev', 'Trigger')
    .filter((t) => !isObserverTrigger(t))
    .map((t) => ({
    name: nameOf(t),
    type: String(dig(t, 'spec', 'filter', 'attributes', 'type')),
    subscriber: String(dig(t, 'spec', 'subscriber', 'ref', 'name')),
  }));

  it.each(SAGA_EDGES.map((edge) => [triggerName(edge), edge] as const))('has the Trigger %s for its saga edge', (name, edge) => {
    expect(triggers, `the saga map has ${edge.event} → ${edge.subscriber}, but no Trigger ${name} routes it`).toContainEqual({
      name,
      type: typeOf(edge.event),
      subscriber: edge.subscriber,
    });
  });

  it('has no Trigger the saga map does not know, so no function receives an event it does not consume', () => {
    const edges = new Set(SAGA_EDGES.map((e) => `${typeOf(e.event)}→${e.subscriber}`));
    const unknown = triggers.filter((t) => !edges.has(`${t.type}→${t.subscriber}`)).map((t) => `${t.name} (${t.type} → ${t.subscriber})`);
    expect(unknown, `Triggers that no consumer in functions/registry.ts declares: ${unknown.join(', ')}`).toEqual([]);
  });

  it('gives each observer one catch-all Trigger (no filter) and no other', () => {
    const catchAll = ofKind('eventing.knative.dev', 'Trigger')
      .filter(isObserverTrigger)
      .map((t) => ({ subscriber: String(dig(t, 'spec', 'subscriber', 'ref', 'name')), filter: dig(t, 'spec', 'filter'), filters: dig(t, 'spec', 'filters') }));
    expect(catchAll).toEqual(observers.map((o) => ({ subscriber: o.name, filter: undefined, filters: undefined })));
  });

  it('leaves unheard exactly the events that end a flow', () => {
    expect(TERMINAL_EVENTS).toEqual(['account.created', 'account.withdrawn', 'notification.sent', 'slot.created']);
  });

  it('runs every function as a Knative Service whose FUNCTION_TARGET is its name, and nothing else', () => {
    const services = ofKind('serving.knative.dev', 'Service');
    const targets = services.map((s) => {
      const env = (dig(s, 'spec', 'template', 'spec', 'containers', '0', 'env') ?? []) as { name: string; value?: string }[];
      return { service: nameOf(s), target: env.find((e) => e.name === 'FUNCTION_TARGET')?.value };
    });
    expect(targets.sort((a, b) => a.service.localeCompare(b.service))).toEqual(
      [...FUNCTIONS, ...observers].map((fn) => ({ service: fn.name, target: fn.name })).sort((a, b) => a.service.localeCompare(b.service)),
    );
  });

  it('gives K_SINK (the SinkBinding) to exactly the functions that publish', () => {
    const [binding, ...more] = ofKind('sources.knative.dev', 'SinkBinding');
    expect(more).toEqual([]);
    expect(dig(binding, 'spec', 'sink', 'ref')).toMatchObject({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' });
    const bound = subjectMatches(dig(binding, 'spec', 'subject') as Record<string, unknown>, docs).map(nameOf).sort();
    expect(bound).toEqual([...FUNCTIONS, ...observers].filter((fn) => fn.publishes).map((fn) => fn.name).sort());
  });

  it('sends each PingSource a function listens to straight to it, every minute', () => {
    const expected = FUNCTIONS.flatMap((fn) => Object.values(fn.sources).map((source) => ({ source: source.from, sink: fn.name, schedule: '* * * * *' })));
    const pings = ofKind('sources.knative.dev', 'PingSource').map((p) => ({
      source: `PingSource/${nameOf(p)}`,
      sink: String(dig(p, 'spec', 'sink', 'ref', 'name')),
      schedule: String(dig(p, 'spec', 'schedule')),
    }));
    expect(pings.sort((a, b) => a.source.localeCompare(b.source))).toEqual(expected.sort((a, b) => a.source.localeCompare(b.source)));
  });
});

/** The state each event presumes, made by the step routines; then the event's data. */
type Scenario<N extends EventName> = (s: Seeds) => Promise<EventData[N]>;
interface Seeds {
  db: TestDatabase['db'];
  funded: string;
  poor: string;
  slot: string;
}

const order = (s: Seeds, accountId = s.funded) => ({ orderId: newId(), accountId, slotId: s.slot, seats: 1, amount: 100 });
const placed = async (s: Seeds, accountId = s.funded) => {
  const o = order(s, accountId);
  await runStep(s.db, 'orders_place', { ...o, payWithin: 0 });
  return o;
};
const waiting = async (s: Seeds) => {
  const o = order(s, s.poor);
  await runStep(s.db, 'charge_order', { ...o, payWithin: 60 });
  return o;
};

const SCENARIOS: { [N in EventName]?: Scenario<N> } = {
  'account.requested': async () => ({ email: `${newId()}@example.com`, name: 'Ann' }),
  'deposit.requested': async (s) => ({ accountId: s.funded, amount: 100 }),
  'order.requested': async (s) => ({ accountId: s.funded, slotId: s.slot }),
  'order.placed': async (s) => ({ ...(await placed(s)), payWithin: 0 }),
  'payment.awaiting': async (s) => ({ ...(await placed(s, s.poor)), balance: 0, deadline: new Date(Date.now() + 60_000).toISOString() }),
  'payment.charged': async (s) => ({ ...(await placed(s)), balance: 1_000 }),
  'slot.rejected': async (s) => ({ ...(await placed(s)), reason: 'sold_out' }),
  'slot.released': async (s) => ({ ...(await placed(s)), reason: 'insufficient_funds' }),
  'slot.reserved': async (s) => order(s),
  'payment.declined': async (s) => {
    const o = order(s);
    await runStep(s.db, 'slots_reserve', o);
    return { ...o, reason: 'insufficient_funds' };
  },
  'account.deposited': async (s) => {
    await waiting(s);
    const { result } = await runStep<{ body: { balance: number } }>(s.db, 'deposit_add', { accountId: s.poor, depositId: newId(), amount: 100 });
    return { accountId: s.poor, depositId: newId(), amount: 100, balance: result.body.balance };
  },
  'order.cancellation.requested': async (s) => {
    const { orderId, accountId } = await waiting(s);
    return { orderId, accountId };
  },
  'order.confirmed': async (s) => order(s),
  'order.cancelled': async (s) => ({ ...order(s), reason: 'sold_out' }),
};

describe('every consumer of the saga map, delivered a real event', () => {
  let t: TestDatabase;
  let sink: Sink;
  let seeds: Seeds;
  const served = new Map<string, ServedFunction>();
  /** The same functions with a database that is not there. */
  const down = new Map<string, ServedFunction>();
  beforeAll(async () => {
    t = await createTestDatabase(20);
    sink = await startSink();
    for (const fn of SAGA_FUNCTIONS) {
      served.set(fn.name, await serveDefinition(fn, { DATABASE_URL: t.url, K_SINK: sink.url }));
      down.set(fn.name, await serveDefinition(fn, { DATABASE_URL: unreachable(t.url), K_SINK: sink.url }));
    }
    seeds = { db: t.db, funded: (await seedAccount(t.db, 1_000_000)).id, poor: (await seedAccount(t.db, 0)).id, slot: await seedSlot(t.db, 1_000, 100) };
  });
  afterAll(async () => {
    for (const s of [...served.values(), ...down.values()]) await s.close();
    await sink.close();
    await t.destroy();
  });

  it('has a scenario for each consumed event', () => {
    expect(SAGA_EDGES.map((e) => e.event).filter((e) => !SCENARIOS[e])).toEqual([]);
  });

  /** Delivers a fresh event of the edge's type; returns the answer and what went to K_SINK. */
  async function deliverOnce(edge: SagaEdge) {
    const event = cloudEvent(edge.event, await (SCENARIOS[edge.event] as Scenario<EventName>)(seeds));
    sink.events.length = 0;
    const answer = await deliver(served.get(edge.subscriber)!.url, event);
    return { event, answer, published: sink.events.splice(0) };
  }

  it.each(SAGA_EDGES.map((edge) => [`${edge.event} → ${edge.subscriber}`, edge] as const))(
    '%s emits only what its consumer declares, each event valid',
    async (_, edge) => {
      const { answer, published } = await deliverOnce(edge);
      expect(answer.status, answer.text).toBeLessThan(300);
      const produced = [...(answer.event ? [answer.event] : []), ...published];
      if (edge.emits.length > 0) expect(produced.length, `${edge.event} → ${edge.subscriber} produced nothing`).toBeGreaterThan(0);
      for (const e of produced) {
        const { name, data } = readEvent(e, edge.emits);
        expect(() => validateData(name, data)).not.toThrow();
        expect(e.source).toBe(`/ordersaga/${edge.subscriber}`);
      }
    },
  );

  it.each(SAGA_EDGES.map((edge) => [`${edge.event} → ${edge.subscriber}`, edge] as const))(
    'a redelivered %s changes nothing and gets the same reply',
    async (_, edge) => {
      const { event, answer } = await deliverOnce(edge);
      const before = await snapshot(t.db);
      const again = await deliver(served.get(edge.subscriber)!.url, event);
      expect(again.status).toBe(answer.status);
      expect(again.event?.id).toBe(answer.event?.id);
      expect(again.text).toBe(answer.text);
      expect(await snapshot(t.db)).toEqual(before);
    },
  );

  it.each(SAGA_EDGES.map((edge) => [`${edge.event} → ${edge.subscriber}`, edge] as const))(
    'a %s delivered while the database is unreachable is a 503 that changes nothing; the retry takes effect',
    async (_, edge) => {
      const event = cloudEvent(edge.event, await (SCENARIOS[edge.event] as Scenario<EventName>)(seeds));
      const before = await snapshot(t.db);
      sink.events.length = 0;
      const failed = await deliver(down.get(edge.subscriber)!.url, event);
      expect(failed.status).toBe(503);
      expect(failed.body).toMatchObject({ status: 503 });
      expect(failed.text).not.toMatch(/ECONNREFUSED|select|insert/i);
      expect(failed.event).toBeUndefined();
      expect(sink.events).toEqual([]);
      expect(await snapshot(t.db)).toEqual(before);
      const retried = await deliver(served.get(edge.subscriber)!.url, event);
      expect(retried.status, retried.text).toBeLessThan(300);
      expect(await snapshot(t.db)).not.toEqual(before);
    },
  );
});

describe('a handler that emits an event it does not declare', () => {
  let t: TestDatabase;
  let fn: ServedFunction;
  const log = recordingLogger();
  beforeAll(async () => {
    t = await createTestDatabase();
    const liar = defineFunction({
      name: 'liar',
      role: 'claims to emit nothing, then opens an account',
      options: baseOptions,
      setup: () => undefined,
      consumes: {
        'account.requested': {
          emits: [],
          describe: 'opens an account without saying so',
          handle: ({ event, consume }) => consume('accounts_open', { ...event.data, accountId: newId() }),
        },
      },
    });
    fn = await serveDefinition(liar, { DATABASE_URL: t.url }, log);
  });
  afterAll(async () => {
    await fn.close();
    await t.destroy();
  });

  it('fails the delivery (5xx, so it is not lost) with a message that names the event', async () => {
    const res = await deliver(fn.url, cloudEvent('account.requested', { email: 'liar@example.com', name: 'Liar' }));
    expect(res.status).toBe(500);
    // The caller learns nothing of internals; the log names the event and what was declared.
    expect(res.text).not.toMatch(/account\.created/);
    expect(log.lines.filter((l) => l.level === 'error').map((l) => String(l.fields.error))).toEqual([
      expect.stringContaining('liar produced dev.ordersaga.account.created, which its handler does not declare'),
    ]);
  });
});
