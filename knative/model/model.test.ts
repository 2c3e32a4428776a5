/**
 * The Knative model, rule by rule, against the upstream files it follows.
 * Schedules are proven through the shared table by the stand-in's and the
 * validator's tests (local/ping.test.ts, knative/validate.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sharedSchemasDir } from '../validate.js';
import { readDelivery } from './delivery.js';
import { BROKER_DEFAULT_DELIVERY, compileFilters, DEFAULT_FEATURES, parseDuration, readModel, type AttributeValue, type Manifest } from './index.js';

const features = (data: Record<string, string>, namespace = 'knative-eventing'): Manifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-features', namespace }, data });
const broker = (spec: Record<string, unknown> = {}): Manifest => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'ns' }, spec });
const trigger = (spec: Record<string, unknown>): Manifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'ns' },
  spec: { broker: 'default', subscriber: { uri: 'http://s' }, ...spec },
});
const policy = (spec: Record<string, unknown>): Manifest => ({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'EventPolicy', metadata: { name: 'p', namespace: 'ns' }, spec });
const messages = (docs: Manifest[]) => readModel(docs).problems.map((p) => `${p.path}: ${p.message}`);

// rickb777/date period.Parse and Period.Duration(), as eventing's delivery_types.go and retries.go use them.
describe('ISO-8601 durations (rickb777/date period)', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT0,5S', 500],
    ['PT1M', 60_000],
    ['PT1H30M', 5_400_000],
    ['P1DT1S', 86_401_000],
    ['P2W', 1_209_600_000],
    ['P1Y', 31_556_952_000],
    ['P1M', 2_629_746_000],
    ['PT1.S', 1_000],
    ['P0', 0],
    ['PT0S', 0],
    ['-PT1S', -1_000],
    ['+PT1S', 1_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '1S', 'PT-1S', 'pt10s', 'P1H', 'PT1D', 'soon', 'PT1S2', 'P1S', 'P1DT'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

// eventing pkg/apis/duck/v1/delivery_types.go (Validate) and pkg/kncloudevents/retries.go.
describe('DeliverySpec', () => {
  const read = (value: unknown, flags: Record<string, string> = DEFAULT_FEATURES) => readDelivery(value, 'spec.delivery', flags);

  it('reads every field', () => {
    const { spec, findings } = read({ retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S', timeout: 'PT10S', format: 'json', deadLetterSink: { uri: 'http://d' } });
    expect(findings).toEqual([]);
    expect(spec).toEqual({ retry: 3, backoff: { policy: 'linear', delayMs: 500 }, timeoutMs: 10_000, format: 'json', deadLetterSink: { uri: 'http://d' } });
  });

  it.each([
    [{ retry: -1 }, 'spec.delivery.retry'],
    [{ retry: 1.5 }, 'spec.delivery.retry'],
    [{ backoffPolicy: 'random', backoffDelay: 'PT1S' }, 'spec.delivery.backoffPolicy'],
    [{ backoffPolicy: 'linear', backoffDelay: '2s' }, 'spec.delivery.backoffDelay'],
    [{ timeout: 'PT0S' }, 'spec.delivery.timeout'],
    [{ format: 'xml' }, 'spec.delivery.format'],
    [{ deadLetterSink: {} }, 'spec.delivery.deadLetterSink'],
    [{ retries: 3 }, 'spec.delivery.retries'],
    // An alpha feature, off in the default install's config-features.
    [{ retryAfterMax: 'PT1S' }, 'spec.delivery.retryAfterMax'],
  ])('refuses %j at %s', (value, at) => {
    expect(read(value).findings.map((f) => f.path)).toContain(at);
  });

  it('takes retryAfterMax once delivery-retryafter is enabled, and refuses a negative one', () => {
    const flags = { ...DEFAULT_FEATURES, 'delivery-retryafter': 'enabled' };
    expect(read({ retryAfterMax: 'PT2S' }, flags)).toEqual({ spec: { retry: 0, retryAfterMaxMs: 2_000 }, findings: [] });
    expect(read({ retryAfterMax: '-PT2S' }, flags).findings).toHaveLength(1);
  });

  it('accepts what the webhook accepts though it does nothing: a negative delay waits 0, a lone backoffPolicy is a no-op', () => {
    expect(read({ backoffPolicy: 'exponential', backoffDelay: '-PT1S' }).findings).toEqual([]);
    expect(read({ backoffPolicy: 'exponential' }).findings).toEqual([expect.objectContaining({ path: 'spec.delivery', noop: true })]);
    expect(read({ timeout: '-PT1S' })).toEqual({ spec: { retry: 0 }, findings: [] });
  });
});

describe('Broker defaults and config-features', () => {
  const shared = (file: string) => parse(readFileSync(path.join(sharedSchemasDir(), 'knative', 'configmaps', file), 'utf8')) as { data: Record<string, string> };

  it('gives a Broker without delivery what the default install\'s config-br-defaults says (default-broker.yaml)', () => {
    const config = parse(shared('default-broker.yaml').data['default-br-config']!) as { clusterDefault: { delivery: unknown } };
    expect(config.clusterDefault.delivery).toEqual(BROKER_DEFAULT_DELIVERY);
    expect(readModel([broker()]).brokers[0]!.delivery).toEqual({ retry: 10, backoff: { policy: 'exponential', delayMs: 200 } });
    // A delivery, even an empty one, is the Broker's own: Knative defaults only a missing one.
    expect(readModel([broker({ delivery: {} })]).brokers[0]!.delivery).toEqual({ retry: 0 });
  });

  it('reads a config-br-defaults from the manifests, per namespace or for the cluster', () => {
    const defaults = (text: string): Manifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-br-defaults', namespace: 'knative-eventing' }, data: { 'default-br-config': text } });
    const yaml = 'clusterDefault:\n  delivery: {retry: 2}\nnamespaceDefaults:\n  ns:\n    delivery: {retry: 4}\n';
    expect(readModel([broker(), defaults(yaml)]).brokers[0]!.delivery.retry).toBe(4);
    expect(readModel([broker(), defaults('clusterDefault:\n  delivery: {retry: 2}\n')]).brokers[0]!.delivery.retry).toBe(2);
  });

  it('starts from the default install\'s config-features (features.yaml) and takes what the manifests set', () => {
    for (const [flag, value] of Object.entries(DEFAULT_FEATURES)) expect(shared('features.yaml').data[flag], flag).toBe(value);
    expect(readModel([features({ 'authentication-oidc': 'enabled' })]).features['authentication-oidc']).toBe('enabled');
    expect(messages([features({ 'authentication-oidc': 'yes' })])).toEqual(['data.authentication-oidc: a feature is enabled, disabled or allowed']);
    expect(messages([features({}, 'ordersaga')])).toEqual(['metadata.namespace: config-features takes effect only in namespace knative-eventing']);
    expect(readModel([]).features['default-authorization-mode']).toBe(shared('features.yaml').data['default-authorization-mode']);
    expect(messages([features({ 'default-authorization-mode': 'allow-some' })])).toEqual([
      'data.default-authorization-mode: the default authorization mode is one of allow-all, allow-same-namespace, deny-all',
    ]);
  });
});

// eventing pkg/apis/eventing/v1/trigger_validation.go and trigger_defaults.go.
describe('Triggers', () => {
  it("takes the Trigger's delivery whole, or else its Broker's", () => {
    const model = readModel([broker({ delivery: { retry: 5, deadLetterSink: { uri: 'http://d' } } }), trigger({})]);
    expect(model.triggers[0]!.delivery).toEqual({ retry: 5, deadLetterSink: { uri: 'http://d' } });
    expect(readModel([broker({ delivery: { retry: 5 } }), trigger({ delivery: { retry: 1 } })]).triggers[0]!.delivery).toEqual({ retry: 1 });
  });

  it('names the Broker "default" when the Trigger names none, and finds one by brokerRef', () => {
    expect(readModel([broker(), trigger({ broker: undefined })]).triggers[0]!.broker).toBe('ns/default');
    expect(readModel([broker(), trigger({ broker: undefined, brokerRef: { name: 'default', namespace: 'ns' } })]).triggers[0]!.broker).toBe('ns/default');
  });

  it.each([
    [{ subscribers: [] }, 'spec.subscribers: unknown Trigger spec field "subscribers"'],
    [{ broker: 'other' }, 'spec.broker: Broker ns/other is not in the manifests'],
    [{ subscriber: {} }, 'spec.subscriber: a Trigger needs a subscriber with a ref or a uri'],
    [{ broker: 'default', brokerRef: { name: 'audit' } }, 'spec.brokerRef: spec.broker and spec.brokerRef name different Brokers'],
  ])('refuses %j', (spec, message) => {
    expect(messages([broker(), trigger(spec)]).some((m) => m.startsWith(message)), messages([broker(), trigger(spec)]).join('\n')).toBe(true);
  });

  it('refuses a duplicate and a name that is not DNS-1123', () => {
    expect(messages([broker(), trigger({}), trigger({})])).toContain(': declared more than once');
    expect(messages([{ ...broker(), metadata: { name: 'Default' } }])).toContain('metadata.name: "Default" is not a valid Kubernetes name (lowercase DNS-1123)');
  });
});

// eventing pkg/eventfilter/attributes/filter.go, pkg/eventfilter/subscriptionsapi/ (create.go and the dialects).
describe('Trigger filters', () => {
  const event: Record<string, AttributeValue> = {
    specversion: '1.0',
    id: 'e-1',
    source: '/ordersaga/place-order',
    type: 'dev.ordersaga.order.placed',
    subject: 'order-7',
    datacontenttype: 'application/json; charset=utf-8',
    tenant: 'acme',
  };
  const passes = (spec: Record<string, unknown>) => compileFilters(spec, 'spec').filter(event) !== 'fail';

  it.each([
    ['no filter at all', {}, true],
    ['an empty filter', { filter: {} }, true],
    ['attributes: type matches', { filter: { attributes: { type: 'dev.ordersaga.order.placed' } } }, true],
    ['attributes: type differs', { filter: { attributes: { type: 'dev.ordersaga.order.confirmed' } } }, false],
    ['attributes: every listed attribute must match', { filter: { attributes: { type: 'dev.ordersaga.order.placed', source: '/elsewhere' } } }, false],
    ['attributes: an extension matches', { filter: { attributes: { tenant: 'acme' } } }, true],
    ['attributes: a missing extension fails', { filter: { attributes: { region: 'eu' } } }, false],
    ['attributes: "" asks for presence, present', { filter: { attributes: { tenant: '' } } }, true],
    ['attributes: "" asks for presence, absent', { filter: { attributes: { dataschema: '' } } }, false],
    ['attributes: datamediatype drops parameters', { filter: { attributes: { datamediatype: 'application/json' } } }, true],
    ['exact', { filters: [{ exact: { type: 'dev.ordersaga.order.placed' } }] }, true],
    ['exact is case-sensitive', { filters: [{ exact: { type: 'DEV.ordersaga.order.placed' } }] }, false],
    ['prefix', { filters: [{ prefix: { type: 'dev.ordersaga.order.' } }] }, true],
    ['prefix misses', { filters: [{ prefix: { type: 'dev.ordersaga.slot.' } }] }, false],
    ['suffix', { filters: [{ suffix: { type: '.placed' } }] }, true],
    ['suffix on a missing extension', { filters: [{ suffix: { region: 'eu' } }] }, false],
    ['every entry of filters must pass', { filters: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-8' } }] }, false],
    ['all', { filters: [{ all: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-7' } }] }] }, true],
    ['all with one miss', { filters: [{ all: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-8' } }] }] }, false],
    ['any', { filters: [{ any: [{ exact: { type: 'x' } }, { suffix: { source: '/place-order' } }] }] }, true],
    ['any with no match', { filters: [{ any: [{ exact: { type: 'x' } }, { exact: { type: 'y' } }] }] }, false],
    ['not', { filters: [{ not: { exact: { type: 'dev.ordersaga.order.placed' } } }] }, false],
    ['not of a miss', { filters: [{ not: { exact: { type: 'x' } } }] }, true],
    ['filters win over filter', { filter: { attributes: { type: 'nope' } }, filters: [{ exact: { type: 'dev.ordersaga.order.placed' } }] }, true],
    ['an empty filters list falls back to filter', { filter: { attributes: { type: 'nope' } }, filters: [] }, false],
    // create.go skips an entry it cannot materialise: no dialect, or an empty value.
    ['an entry with no dialect is skipped', { filters: [{}, { exact: { type: 'x' } }] }, false],
    ['an empty exact value is skipped', { filters: [{ exact: { type: '' } }] }, true],
  ])('%s', (_name, spec, expected) => {
    expect(passes(spec)).toBe(expected);
  });

  it.each([
    ['two dialects in one entry', { filters: [{ exact: { type: 'a' }, prefix: { type: 'b' } }] }, 'spec.filters[0]'],
    ['an unknown dialect', { filters: [{ regex: { type: 'a.*' } }] }, 'spec.filters[0].regex'],
    ['exact with two attributes', { filters: [{ exact: { type: 'a', source: 'b' } }] }, 'spec.filters[0].exact'],
    ['a bad attribute name', { filter: { attributes: { 'Bad-Name': 'x' } } }, 'spec.filter.attributes.Bad-Name'],
    ['a non-string attribute value', { filter: { attributes: { retries: 3 } } }, 'spec.filter.attributes.retries'],
    ['filters that are not a list', { filters: { exact: { type: 'a' } } }, 'spec.filters'],
    ['a nested bad entry', { filters: [{ any: [{ exact: { type: 'a' } }, { exact: { Type: 'b' } }] }] }, 'spec.filters[0].any[1].exact.Type'],
  ])('refuses %s', (_name, spec, at) => {
    const findings = compileFilters(spec, 'spec').findings;
    expect(findings.filter((f) => !('noop' in f)).map((f) => f.path)).toContain(at);
  });

  // pkg/eventfilter/subscriptionsapi/cesql_filter.go: true passes, false or an evaluation error fails.
  it.each([
    ["type LIKE 'dev.ordersaga.order.%'", true],
    ["type = 'dev.ordersaga.order.placed' AND tenant = 'acme'", true],
    ["EXISTS region", false],
    ["region = 'eu'", false],
    ["NOT (region = 'eu')", false],
    ["subject IN ('order-6', 'order-7')", true],
    ['INT(1) / 0 = 0', false],
  ])('cesql %s', (expression, expected) => {
    expect(passes({ filters: [{ cesql: expression }] })).toBe(expected);
  });

  it('refuses, naming the Trigger, a cesql expression that does not parse (trigger_validation.go)', () => {
    const problems = readModel([broker(), trigger({ filters: [{ any: [{ cesql: "type = 'x' AND" }] }] })]).problems;
    expect(problems).toEqual([expect.objectContaining({ rule: 'filter', resource: 'Trigger ns/t', path: 'spec.filters[0].any[0].cesql' })]);
    expect(problems[0]!.message).toMatch(/^not a CESQL expression: /);
  });
});

// eventing pkg/apis/eventing/v1alpha1/eventpolicy_validation.go, and pkg/auth/event_policy.go for `from`.
describe('EventPolicies', () => {
  const oidc = features({ 'authentication-oidc': 'enabled' });
  const serviceAccount = { ref: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'place-order' } };

  it('admits subjects, and a source by the ServiceAccount Knative gives it, on the targets it names', () => {
    const ping = { ref: { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', name: 'tick' } };
    const model = readModel([oidc, policy({ to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }], from: [ping, { sub: 'system:serviceaccount:ns:*' }] })]);
    expect(model.problems).toEqual([]);
    expect(model.eventPolicies[0]).toMatchObject({ namespace: 'ns', name: 'p', ready: true, subjects: ['system:serviceaccount:ns:tick-oidc-sources.knative.dev-pingsource', 'system:serviceaccount:ns:*'] });
    expect(model.eventPolicies[0]!.to[0]!.ref).toMatchObject({ kind: 'Broker', name: 'default' });
  });

  it('never applies a policy whose from names a ServiceAccount by ref: Knative reads a ref\'s .status.auth, which a ServiceAccount lacks', () => {
    const model = readModel([oidc, policy({ from: [serviceAccount, { sub: 'system:serviceaccount:ns:x' }] })]);
    expect(model.eventPolicies[0]).toMatchObject({ ready: false, subjects: ['system:serviceaccount:ns:x'] });
    expect(model.problems).toEqual([expect.objectContaining({ rule: 'eventpolicy', path: 'spec.from[0].ref', noop: true })]);
    expect(model.problems[0]!.message).toContain('write sub: system:serviceaccount:ns:place-order');
  });

  it.each([
    [{ from: [{}] }, 'spec.from[0]: a from entry has a ref or a sub, exactly one'],
    [{ from: [{ sub: 'a', ...serviceAccount }] }, 'spec.from[0]: a from entry has a ref or a sub, exactly one'],
    [{ from: [{ sub: '*' }, { sub: 'x*' }, { sub: '*x' }] }, "spec.from[2].sub: '*' is only allowed as suffix"],
    [{ from: [{ sub: 'system:*:x' }] }, "spec.from[0].sub: '*' is only allowed as suffix"],
    [{ from: [{ ref: { kind: 'ServiceAccount', name: 'x' } }] }, 'spec.from[0].ref.apiVersion: apiVersion is required'],
    [{ to: [{}] }, 'spec.to[0]: a to entry has a ref or a selector, exactly one'],
    [{ to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker' } }] }, 'spec.to[0].ref.name: name is required'],
    [{ filters: [{ exact: { type: 'a', id: 'b' } }] }, 'spec.filters[0].exact: exact takes exactly one attribute: value pair'],
  ])('refuses %j', (spec, message) => {
    expect(messages([oidc, policy(spec)])).toContain(message);
  });

  it('is refused while authentication-oidc is off, as in the default install', () => {
    expect(messages([policy({ from: [{ sub: 'x' }] })])).toEqual([': an EventPolicy needs the feature authentication-oidc enabled (config-features)']);
  });
});
