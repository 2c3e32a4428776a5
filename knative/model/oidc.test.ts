/**
 * The `authentication-oidc` rules of the model, each against the upstream
 * file it follows (eventing `pkg/auth/`, knative.dev/pkg `kmeta/names.go`).
 */
import { describe, expect, it } from 'vitest';
import { readModel, type AttributeValue, type Manifest } from './index.js';
import { admits, audienceOf, childName, destinationAudience, oidcSubjectOf, policiesFor } from './oidc.js';
import { subjectContained } from './subjects.js';

const features: Manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-features', namespace: 'knative-eventing' }, data: { 'authentication-oidc': 'enabled' } };
const broker = (name: string, labels: Record<string, string> = {}): Manifest => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, namespace: 'ns', labels } });
const policy = (name: string, spec: Record<string, unknown>, namespace = 'ns'): Manifest => ({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'EventPolicy', metadata: { name, namespace }, spec });
const policiesOf = (...docs: Manifest[]) => readModel([features, ...docs]).eventPolicies;
const event = (type: string): Record<string, AttributeValue> => ({ specversion: '1.0', id: '1', source: '/s', type });

describe('audiences (pkg/auth/audience.go)', () => {
  it('is <group>/<kind>/<namespace>/<name> in lower case', () => {
    expect(audienceOf('eventing.knative.dev', 'Broker', 'ordersaga', 'default')).toBe('eventing.knative.dev/broker/ordersaga/default');
  });

  it('of a Destination: its own audience first, else what a Broker announces, else none (a Knative Service announces none)', () => {
    const service = { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'charge' } };
    expect(destinationAudience(service, 'ns')).toBeUndefined();
    expect(destinationAudience({ ...service, audience: 'charge-aud' }, 'ns')).toBe('charge-aud');
    expect(destinationAudience({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }, 'ns')).toBe('eventing.knative.dev/broker/ns/default');
    expect(destinationAudience({ uri: 'http://x' }, 'ns')).toBeUndefined();
  });
});

describe('the ServiceAccount Knative sends as (pkg/auth/serviceaccount.go, kmeta.ChildName)', () => {
  it('is <name>-oidc-<group>-<kind>, lower case, when it fits in 63 characters', () => {
    expect(oidcSubjectOf('eventing.knative.dev', 'Trigger', 'ordersaga', 'reserve-slot-on-order-placed')).toBe(
      'system:serviceaccount:ordersaga:reserve-slot-on-order-placed-oidc-eventing.knative.dev-trigger',
    );
  });

  // The expected names were worked out by hand from kmeta.ChildName's source, digests by md5sum.
  it.each([
    ['a'.repeat(60), '-metrics', 'aaaaaaaaaaaaaaaaaaaaaaacc7ed669cf88f201c3297c6a91e1d18d-metrics'],
    ['charge-on-order-cancellation-requested', '-oidc-eventing.knative.dev-Trigger', 'charge-on-order-cancellation-re50afd6d46f418743d4faf572f8436fef'],
    ['ab', `-${'x'.repeat(61)}`, 'abc7a025766dd4bb95a1552c3bcbc31909-xxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
  ])('hashes %s + %s to fit', (parent, suffix, expected) => {
    expect(childName(parent, suffix)).toBe(expected);
    expect(expected.length).toBeLessThanOrEqual(63);
  });
});

describe('which policies apply, and who they admit (pkg/auth/event_policy.go, verifier.go)', () => {
  const byRef = policy('by-ref', { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }], from: [{ sub: 'system:serviceaccount:ns:a' }] });
  const bySelector = policy('by-selector', { to: [{ selector: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', matchLabels: { tier: 'gold' } } }], from: [{ sub: 'b' }] });
  const everything = policy('everything', { from: [{ sub: 'c' }] });
  const elsewhere = policy('elsewhere', { from: [{ sub: 'd' }] }, 'other');
  const names = (target: Manifest) => policiesFor(policiesOf(byRef, bySelector, everything, elsewhere), target, 'ns').map((p) => p.name);

  it('a policy with no `to` applies to everything in its namespace; a ref by name, a selector by labels; never another namespace', () => {
    expect(names(broker('default'))).toEqual(['by-ref', 'everything']);
    expect(names(broker('DEFAULT'))).toEqual(['by-ref', 'everything']);
    expect(names(broker('gold', { tier: 'gold' }))).toEqual(['by-selector', 'everything']);
    expect(names(broker('plain'))).toEqual(['everything']);
  });

  it('applies no policy that is not ready', () => {
    const unresolved = policy('unresolved', { from: [{ ref: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'x' } }] });
    expect(policiesFor(policiesOf(unresolved), broker('default'), 'ns')).toEqual([]);
  });

  it('matches a subject exactly (ignoring case) or by a prefix ending in *', () => {
    expect(subjectContained('system:serviceaccount:ns:a', ['SYSTEM:serviceaccount:ns:a'])).toBe(true);
    expect(subjectContained('system:serviceaccount:ns:anything', ['system:serviceaccount:ns:*'])).toBe(true);
    expect(subjectContained('system:serviceaccount:other:a', ['system:serviceaccount:ns:*', 'system:serviceaccount:ns:a'])).toBe(false);
  });

  it('admits a subject one applying policy names, when that policy\'s filters pass the event', () => {
    const [filtered] = policiesOf(policy('typed', { from: [{ sub: 'system:serviceaccount:ns:a' }], filters: [{ prefix: { type: 'dev.ordersaga.' } }] }));
    expect(admits([filtered!], 'system:serviceaccount:ns:a', event('dev.ordersaga.order.requested'), 'ns', 'deny-all')).toBe(true);
    expect(admits([filtered!], 'system:serviceaccount:ns:a', event('com.example.other'), 'ns', 'allow-all')).toBe(false);
    expect(admits([filtered!], 'system:serviceaccount:ns:b', event('dev.ordersaga.order.requested'), 'ns', 'allow-all')).toBe(false);
  });

  it('with no applying policy, default-authorization-mode decides: the same namespace by default, everyone, or no one', () => {
    expect(admits([], 'system:serviceaccount:ns:any', event('t'), 'ns', 'allow-same-namespace')).toBe(true);
    expect(admits([], 'system:serviceaccount:other:any', event('t'), 'ns', 'allow-same-namespace')).toBe(false);
    expect(admits([], 'system:serviceaccount:other:any', event('t'), 'ns', 'allow-all')).toBe(true);
    expect(admits([], 'system:serviceaccount:ns:any', event('t'), 'ns', 'deny-all')).toBe(false);
  });
});
