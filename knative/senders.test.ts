/**
 * Who may send to the Broker with sender authentication on, against the saga
 * map (functions/registry.ts): the EventPolicies of the overlays, and of the
 * stand-in (knative/base with components/oidc), admit every function that
 * publishes for each type it emits and no other (a relay for every type of
 * the catalogue), nothing from a function that only replies, the operator for
 * the commands, and no stranger.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, typeOf, type EventName } from '../events/index.js';
import { FUNCTIONS, OBSERVERS, SAGA_EDGES } from '../functions/registry.js';
import { OPERATOR_SERVICE_ACCOUNT } from '../local/oidc.js';
import { admits, dig, isKind, loadDirectory, nameOf, policiesFor, readModel, type Manifest } from './model/index.js';
import { devByHand, KUBECTL, render, services } from './testing.js';
import { REPO_ROOT } from './validate.js';

const standIn = () => ['base', 'components/oidc'].flatMap((dir) => loadDirectory(path.join(REPO_ROOT, 'knative', dir)).docs);
const VIEWS: [string, () => Manifest[]][] = [
  ['the dev overlay', () => (KUBECTL ? render('knative/overlays/dev') : devByHand())],
  ['the prod overlay', () => (KUBECTL ? render('knative/overlays/prod') : devByHand())],
  ['the stand-in with AUTHENTICATION_OIDC=enabled', standIn],
];

/** Events the saga consumes and no function emits: what people send. */
const COMMANDS = [...new Set(SAGA_EDGES.map((e) => e.event))].filter((event) => !FUNCTIONS.some((fn) => fn.emits.includes(event)));
const SENDERS = [
  ...FUNCTIONS.map((fn) => ({ name: fn.name, publishes: fn.publishes, relays: fn.relays, emits: fn.emits })),
  ...OBSERVERS.map((o) => ({ name: o.name, publishes: o.publishes, relays: o.relays, emits: [] as readonly EventName[] })),
];

describe.each(VIEWS)('sender authentication in %s', (_, load) => {
  const docs = load();
  const model = readModel(docs, { defaultNamespace: 'ordersaga' });
  const broker = docs.find((d) => isKind(d, 'eventing.knative.dev', 'Broker') && nameOf(d) === 'default')!;
  const applying = policiesFor(model.eventPolicies, broker, 'ordersaga');
  const mode = model.features['default-authorization-mode']!;
  const admitted = (account: string) => EVENT_NAMES.filter((name) => admits(applying, `system:serviceaccount:ordersaga:${account}`, { type: typeOf(name) }, 'ordersaga', mode));
  const accountOf = (name: string) => services(docs).find((s) => nameOf(s) === name);
  const senders = SENDERS.filter((s) => accountOf(s.name));

  it('is on, and the Broker is governed by EventPolicies (not default-authorization-mode)', () => {
    expect(model.features['authentication-oidc']).toBe('enabled');
    expect(applying.length).toBeGreaterThan(0);
  });

  it.each(senders.map((s) => [s.name, s] as const))('admits %s for exactly what it sends', (_, sender) => {
    const account = String(dig(accountOf(sender.name), 'spec', 'template', 'spec', 'serviceAccountName'));
    const expected = !sender.publishes ? [] : sender.relays ? EVENT_NAMES : [...sender.emits].sort();
    expect(admitted(account)).toEqual(expected);
  });

  it('admits ordersaga-operator for the commands only, and a stranger for nothing', () => {
    expect(COMMANDS.sort()).toEqual(['account.requested', 'deposit.requested', 'order.requested']);
    expect(admitted(OPERATOR_SERVICE_ACCOUNT)).toEqual(COMMANDS);
    expect(admitted('stranger')).toEqual([]);
    expect(admits(applying, 'system:serviceaccount:elsewhere:accounts', { type: typeOf('account.created') }, 'ordersaga', mode)).toBe(false);
  });
});
