import { describe, expect, it } from 'vitest';
import { BrokerConfigError, createBroker } from './index.js';
import { brokerManifest, post, recordingLog, startBroker, testEvent, triggerManifest, uriResolver, useBrokerFixtures, type TestSubscriber } from './testing.js';

describe('routing by Triggers', () => {
  const { subscriber, onCleanup } = useBrokerFixtures();

  it('sends each event to exactly the Triggers whose filters match', async () => {
    const subs = {
      placed: await subscriber(),
      orders: await subscriber(),
      cancelled: await subscriber(),
      acme: await subscriber(),
      notOrders: await subscriber(),
      mixed: await subscriber(),
      everything: await subscriber(),
    };
    const { broker, ingress } = await startBroker([
      brokerManifest(),
      triggerManifest('placed', subs.placed.url, { filter: { attributes: { type: 'dev.ordersaga.order.placed' } } }),
      triggerManifest('orders', subs.orders.url, { filters: [{ prefix: { type: 'dev.ordersaga.order.' } }] }),
      triggerManifest('cancelled', subs.cancelled.url, { filters: [{ suffix: { type: '.cancelled' } }] }),
      triggerManifest('acme', subs.acme.url, { filters: [{ exact: { tenant: 'acme' } }] }),
      triggerManifest('not-orders', subs.notOrders.url, { filters: [{ not: { prefix: { type: 'dev.ordersaga.order.' } } }] }),
      triggerManifest('mixed', subs.mixed.url, {
        filters: [
          { all: [{ any: [{ exact: { type: 'dev.ordersaga.slot.reserved' } }, { suffix: { type: '.cancelled' } }] }, { exact: { source: '/tests/broker' } }] },
        ],
      }),
      triggerManifest('everything', subs.everything.url),
    ]);
    onCleanup(() => broker.drain(1_000));

    const send = (type: string, extra: Record<string, unknown> = {}) => post(ingress, testEvent(type, { id: type, ...extra }));
    await send('dev.ordersaga.order.placed', { tenant: 'acme' });
    await send('dev.ordersaga.order.cancelled');
    await send('dev.ordersaga.slot.reserved');
    await send('dev.ordersaga.slot.reserved.v2', { source: '/elsewhere' });
    await broker.settled();

    const got = (s: TestSubscriber) => s.received.map((r) => r.headers['ce-id']).sort();
    expect(got(subs.placed)).toEqual(['dev.ordersaga.order.placed']);
    expect(got(subs.orders)).toEqual(['dev.ordersaga.order.cancelled', 'dev.ordersaga.order.placed']);
    expect(got(subs.cancelled)).toEqual(['dev.ordersaga.order.cancelled']);
    expect(got(subs.acme)).toEqual(['dev.ordersaga.order.placed']);
    expect(got(subs.notOrders)).toEqual(['dev.ordersaga.slot.reserved', 'dev.ordersaga.slot.reserved.v2']);
    expect(got(subs.mixed)).toEqual(['dev.ordersaga.order.cancelled', 'dev.ordersaga.slot.reserved']);
    expect(got(subs.everything)).toHaveLength(4);
  });

  // pkg/eventfilter/subscriptionsapi/cesql_filter.go (with cloudevents/sdk-go sql/v2): true delivers; false, or an
  // error such as a missing attribute, does not.
  it('routes by cesql filters exactly as Knative does', async () => {
    const [byLike, byExists, byMissing, nested] = [await subscriber(), await subscriber(), await subscriber(), await subscriber()];
    const { broker, ingress } = await startBroker([
      brokerManifest(),
      triggerManifest('like', byLike.url, { filters: [{ cesql: "type LIKE 'dev.ordersaga.order.%' AND source = '/tests/broker'" }] }),
      triggerManifest('exists', byExists.url, { filters: [{ cesql: 'EXISTS tenant AND UPPER(tenant) = \'ACME\'' }] }),
      triggerManifest('missing', byMissing.url, { filters: [{ cesql: "region = 'eu' OR TRUE" }] }),
      triggerManifest('nested', nested.url, { filters: [{ any: [{ exact: { type: 'none' } }, { not: { cesql: 'INT(retries) > 2' } }] }] }),
    ]);
    onCleanup(() => broker.drain(1_000));
    await post(ingress, testEvent('dev.ordersaga.order.placed', { id: 'placed', tenant: 'acme', retries: '1' }));
    await post(ingress, testEvent('dev.ordersaga.slot.reserved', { id: 'reserved', retries: '5' }));
    await broker.settled();
    const got = (s: TestSubscriber) => s.received.map((r) => r.headers['ce-id']).sort();
    expect(got(byLike)).toEqual(['placed']);
    expect(got(byExists)).toEqual(['placed']);
    // region is missing: the error fails the event even though OR TRUE would hold.
    expect(got(byMissing)).toEqual([]);
    expect(got(nested)).toEqual(['placed']);
  });

  it('fails every attempt of a cesql filter that yields no Boolean, as the panicking filter does, and dead-letters without error extensions', async () => {
    const [sub, dls] = [await subscriber(), await subscriber()];
    const { broker, ingress } = await startBroker([
      brokerManifest(),
      triggerManifest('not-boolean', sub.url, { filters: [{ cesql: 'type' }], delivery: { retry: 1, deadLetterSink: { uri: dls.url } } }),
    ]);
    onCleanup(() => broker.drain(1_000));
    await post(ingress, testEvent('x', { id: 'odd' }));
    const [dead] = await dls.waitFor(1);
    await broker.settled();
    expect(sub.received).toHaveLength(0);
    expect(dead!.headers['ce-id']).toBe('odd');
    expect(dead!.headers['ce-knativeerrorcode']).toBeUndefined();
    expect(broker.stats()).toMatchObject({ retried: 1, deadLettered: 1 });
  });

  it('keeps Brokers apart, and finds a Trigger’s Broker by spec.broker, brokerRef or the default name', async () => {
    const viaDefault = await subscriber();
    const viaRef = await subscriber();
    const viaName = await subscriber();
    const log = recordingLog();
    const broker = createBroker({
      manifests: [
        brokerManifest('default'),
        brokerManifest('audit'),
        { ...triggerManifest('implicit', viaDefault.url), spec: { subscriber: { uri: viaDefault.url } } },
        triggerManifest('by-ref', viaRef.url, { broker: undefined, brokerRef: { name: 'audit' } }),
        triggerManifest('by-name', viaName.url, { broker: 'audit' }),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored' } },
      ],
      resolve: uriResolver,
      log,
    });
    const port = await broker.listen(0);
    onCleanup(() => broker.drain(1_000));
    await post(`http://127.0.0.1:${port}/ordersaga/default`, testEvent('x', { id: 'to-default' }));
    await post(`http://127.0.0.1:${port}/ordersaga/audit`, testEvent('x', { id: 'to-audit' }));
    await broker.settled();
    expect(viaDefault.received.map((r) => r.headers['ce-id'])).toEqual(['to-default']);
    expect(viaRef.received.map((r) => r.headers['ce-id'])).toEqual(['to-audit']);
    expect(viaName.received.map((r) => r.headers['ce-id'])).toEqual(['to-audit']);
    expect(log.lines[0]).toMatchObject({ message: 'broker configured', fields: { ingress: ['/ordersaga/default', '/ordersaga/audit'], triggers: 3 } });
  });

  it('puts documents without a namespace in defaultNamespace', async () => {
    const sub = await subscriber();
    const strip = (m: Record<string, unknown>) => ({ ...m, metadata: { name: (m.metadata as { name: string }).name } });
    const broker = createBroker({
      manifests: [strip(brokerManifest()), strip(triggerManifest('t', sub.url))],
      resolve: uriResolver,
      log: recordingLog(),
      defaultNamespace: 'ordersaga',
    });
    const port = await broker.listen(0);
    onCleanup(() => broker.drain(1_000));
    expect((await post(`http://127.0.0.1:${port}/ordersaga/default`, testEvent('x'))).status).toBe(202);
    await sub.waitFor(1);
  });

  it('resolves subscribers and dead-letter sinks in the Trigger namespace', () => {
    const calls: string[] = [];
    createBroker({
      manifests: [
        brokerManifest(),
        triggerManifest('t', '', {
          subscriber: { ref: { kind: 'Service', name: 'notify' } },
          delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'dead-letters' } } },
        }),
      ],
      resolve: (d, ns) => {
        calls.push(`${d.ref?.name}@${ns}`);
        return `http://127.0.0.1:9/${d.ref?.name}`;
      },
      log: recordingLog(),
    });
    expect(calls.sort()).toEqual(['dead-letters@ordersaga', 'notify@ordersaga']);
  });

  it.each([
    [
      'an unknown Trigger spec field',
      [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/', { filterz: {} })],
      /Trigger ordersaga\/t: spec\.filterz: unknown Trigger spec field "filterz"/,
    ],
    [
      'a Trigger on a Broker that does not exist',
      [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/', { broker: 'nope' })],
      /Broker ordersaga\/nope is not in the manifests/,
    ],
    [
      'a subscriber that does not resolve',
      [brokerManifest(), triggerManifest('t', '', { subscriber: { ref: { kind: 'Service', name: 'x' } } })],
      /spec\.subscriber does not resolve/,
    ],
    [
      'a bad backoffDelay',
      [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/', { delivery: { backoffPolicy: 'linear', backoffDelay: '200ms' } })],
      /spec\.delivery\.backoffDelay: backoffDelay must be an ISO-8601 duration such as PT0\.5S, not "200ms"/,
    ],
    [
      'a bad backoffPolicy',
      [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/', { delivery: { backoffPolicy: 'random' } })],
      /backoffPolicy must be linear or exponential/,
    ],
    ['a negative retry', [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/', { delivery: { retry: -1 } })], /retry must be an integer/],
    ['a bad Broker delivery', [brokerManifest('default', 'ordersaga', { timeout: 'soon' })], /Broker ordersaga\/default: spec\.delivery\.timeout/],
    ['a Trigger defined twice', [brokerManifest(), triggerManifest('t', 'http://127.0.0.1:9/'), triggerManifest('t', 'http://127.0.0.1:9/')], /Trigger ordersaga\/t: declared more than once/],
  ])('refuses %s when the Broker is built', (_name, manifests, message) => {
    const build = () => createBroker({ manifests, resolve: uriResolver, log: recordingLog() });
    expect(build).toThrow(BrokerConfigError);
    expect(build).toThrow(message);
  });
});
