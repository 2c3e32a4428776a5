/**
 * Sender authentication at the Broker stand-in, as eventing's ingress applies
 * it (`pkg/broker/ingress/ingress_handler.go`, `pkg/auth/verifier.go`) and its
 * dispatcher authenticates to subscribers (`pkg/broker/filter/filter_handler.go`,
 * `pkg/kncloudevents`), against the stand-in's real issuer.
 */
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { useIssuer } from '../../test/harness.js';
import type { Issuer } from '../oidc.js';
import { brokerManifest, post, testEvent, triggerManifest, useBrokerFixtures } from './testing.js';

const BROKER_AUDIENCE = 'eventing.knative.dev/broker/ordersaga/default';
const features = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-features', namespace: 'knative-eventing' }, data: { 'authentication-oidc': 'enabled' } };
const policy = (name: string, subjects: string[], filters?: unknown[]) => ({
  apiVersion: 'eventing.knative.dev/v1alpha1',
  kind: 'EventPolicy',
  metadata: { name, namespace: 'ordersaga' },
  spec: { to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }], from: subjects.map((sub) => ({ sub })), ...(filters ? { filters } : {}) },
});
const account = (name: string, namespace = 'ordersaga') => `system:serviceaccount:${namespace}:${name}`;

const held = useIssuer();
let issuer: Issuer;
beforeAll(() => void (issuer = held.issuer));

describe('the ingress, with sender authentication on', () => {
  const fixtures = useBrokerFixtures();
  const send = async (ingress: string, type: string, authorization?: string) => post(ingress, testEvent(type), 'binary', authorization ? { authorization } : {});
  const bearer = async (subject: string, audience = BROKER_AUDIENCE) => `Bearer ${await issuer.token(subject, audience)}`;

  it('answers 401 without a token, with one for another audience, or one it did not sign; 403 when no EventPolicy admits the subject', async () => {
    const subscriber = await fixtures.subscriber();
    const { ingress, broker } = await fixtures.broker([features, brokerManifest(), triggerManifest('all', subscriber.url), policy('shop', [account('place-order')])], { oidc: issuer });
    expect((await send(ingress, 'dev.ordersaga.order.placed')).status).toBe(401);
    expect((await send(ingress, 'dev.ordersaga.order.placed', 'Basic eDp5')).status).toBe(401);
    expect((await send(ingress, 'dev.ordersaga.order.placed', await bearer(account('place-order'), 'serving.knative.dev/service/ordersaga/charge'))).status).toBe(401);
    expect((await send(ingress, 'dev.ordersaga.order.placed', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtZSJ9.')).status).toBe(401);
    const refused = await send(ingress, 'dev.ordersaga.order.placed', await bearer(account('notify')));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('system:serviceaccount:ordersaga:notify may not send dev.ordersaga.order.placed');
    expect((await send(ingress, 'dev.ordersaga.order.placed', await bearer(account('place-order')))).status).toBe(202);
    await broker.settled();
    expect(subscriber.received).toHaveLength(1);
    expect(broker.stats()).toMatchObject({ accepted: 1, rejected: 5 });
  });

  it('checks the token after the event and the Broker: an invalid event is 400 and an unknown Broker 404, whatever the token', async () => {
    const { ingress } = await fixtures.broker([features, brokerManifest(), policy('shop', [account('place-order')])], { oidc: issuer });
    const bad = await fetch(ingress, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/x' }, body: '' });
    expect(bad.status).toBe(400);
    expect((await send(ingress.replace('/default', '/nope'), 'dev.ordersaga.order.placed')).status).toBe(404);
  });

  it('admits a subject only for the events its policy\'s filters pass', async () => {
    const filters = [{ any: [{ exact: { type: 'dev.ordersaga.account.created' } }] }];
    const { ingress } = await fixtures.broker([features, brokerManifest(), policy('accounts', [account('accounts')], filters)], { oidc: issuer });
    expect((await send(ingress, 'dev.ordersaga.account.created', await bearer(account('accounts')))).status).toBe(202);
    expect((await send(ingress, 'dev.ordersaga.payment.charged', await bearer(account('accounts')))).status).toBe(403);
  });

  it('with no EventPolicy, admits what default-authorization-mode does: by default the Broker\'s own namespace', async () => {
    const { ingress } = await fixtures.broker([features, brokerManifest()], { oidc: issuer });
    expect((await send(ingress, 'dev.ordersaga.order.placed', await bearer(account('anyone')))).status).toBe(202);
    expect((await send(ingress, 'dev.ordersaga.order.placed', await bearer(account('anyone', 'elsewhere')))).status).toBe(403);
    const denyAll = { ...features, data: { ...features.data, 'default-authorization-mode': 'deny-all' } };
    const { ingress: strict } = await fixtures.broker([denyAll, brokerManifest()], { oidc: issuer });
    expect((await send(strict, 'dev.ordersaga.order.placed', await bearer(account('anyone')))).status).toBe(403);
  });

  it('takes any event, token or not, while sender authentication is off (no issuer given)', async () => {
    const { ingress } = await fixtures.broker([brokerManifest()]);
    expect((await send(ingress, 'dev.ordersaga.order.placed')).status).toBe(202);
  });
});

describe('deliveries, with sender authentication on', () => {
  const fixtures = useBrokerFixtures();

  it('carry a token of the Trigger\'s own identity for the subscriber\'s audience, and for the dead-letter sink\'s', async () => {
    const subscriber = await fixtures.subscriber(() => ({ status: 400 }));
    const sink = await fixtures.subscriber();
    const trigger = triggerManifest('charge-on-slot-reserved', subscriber.url, {
      delivery: { retry: 0, deadLetterSink: { uri: sink.url, audience: 'dead-letters-audience' } },
    });
    (trigger.spec as { subscriber: Record<string, unknown> }).subscriber.audience = 'charge-audience';
    const { ingress } = await fixtures.broker([features, brokerManifest(), trigger], { oidc: issuer });
    await post(ingress, testEvent('dev.ordersaga.slot.reserved'), 'binary', { authorization: `Bearer ${await issuer.token(account('reserve-slot'), BROKER_AUDIENCE)}` });
    const [delivery] = await subscriber.waitFor(1);
    const [deadLetter] = await sink.waitFor(1);
    const claims = (header: unknown) => decodeJwt(String(header).replace(/^Bearer /, ''));
    expect(claims(delivery!.headers.authorization)).toMatchObject({ sub: account('charge-on-slot-reserved-oidc-eventing.knative.dev-trigger'), aud: 'charge-audience' });
    expect(claims(deadLetter!.headers.authorization)).toMatchObject({ sub: account('charge-on-slot-reserved-oidc-eventing.knative.dev-trigger'), aud: 'dead-letters-audience' });
    expect(await issuer.verify(String(delivery!.headers.authorization).slice(7), 'charge-audience')).toBe(account('charge-on-slot-reserved-oidc-eventing.knative.dev-trigger'));
  });

  it('carry no token to a subscriber that announces no audience, as Knative sends none', async () => {
    const subscriber = await fixtures.subscriber();
    const { broker } = await fixtures.broker([features, brokerManifest(), triggerManifest('all', subscriber.url)], { oidc: issuer });
    await broker.publish('ordersaga', 'default', testEvent('dev.ordersaga.order.placed'));
    const [delivery] = await subscriber.waitFor(1);
    expect(delivery!.headers.authorization).toBeUndefined();
  });
});
