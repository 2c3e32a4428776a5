/**
 * Sender authentication in the stand-in: whether it is on, and the token each
 * party gets from the local issuer (a function process's projected token as a
 * file, the operator's, a PingSource's, the console's).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/config.js';
import { loadManifests, topologyOf, type Manifest } from './manifests.js';
import { senderAuthenticationOn, senderAuthManifestsDir, startLocalOidc, type LocalOidc } from './oidc.js';

const BASE = path.resolve(import.meta.dirname, '..', 'knative', 'base');
const features = (value: string): Manifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-features', namespace: 'knative-eventing' }, data: { 'authentication-oidc': value } });
const claims = (authorization: string | undefined) => decodeJwt(String(authorization).replace(/^Bearer /, ''));

describe('whether sender authentication is on', () => {
  it('is the manifests\' config-features, unless AUTHENTICATION_OIDC says otherwise', () => {
    expect(senderAuthenticationOn({}, [])).toBe(false);
    expect(senderAuthenticationOn({}, [features('enabled')])).toBe(true);
    expect(senderAuthenticationOn({ AUTHENTICATION_OIDC: 'enabled' }, [])).toBe(true);
    expect(senderAuthenticationOn({ AUTHENTICATION_OIDC: 'disabled' }, [features('enabled')])).toBe(false);
    expect(senderAuthenticationOn({ AUTHENTICATION_OIDC: '' }, [features('enabled')])).toBe(true);
  });

  it('refuses a value that is neither enabled nor disabled, naming the variable', () => {
    expect(() => senderAuthenticationOn({ AUTHENTICATION_OIDC: 'on' }, [])).toThrow(ConfigError);
    expect(() => senderAuthenticationOn({ AUTHENTICATION_OIDC: 'on' }, [])).toThrow('AUTHENTICATION_OIDC="on": must be enabled or disabled');
  });

  it('is off in knative/base, as in Knative\'s default install', () => {
    expect(senderAuthenticationOn({}, loadManifests(BASE))).toBe(false);
  });
});

describe('the tokens the stand-in hands out', () => {
  let dir: string;
  let oidc: LocalOidc;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-local-oidc-'));
    oidc = await startLocalOidc(dir, 'ordersaga', 'default');
  });
  afterAll(async () => {
    await oidc.issuer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const topology = () => topologyOf([...loadManifests(BASE), ...loadManifests(senderAuthManifestsDir(BASE))]);

  it('writes the operator\'s token, for the Broker, to operator.jwt', () => {
    expect(oidc.operatorTokenFile).toBe(path.join(dir, 'operator.jwt'));
    expect(claims(readFileSync(oidc.operatorTokenFile, 'utf8'))).toMatchObject({ sub: 'system:serviceaccount:ordersaga:ordersaga-operator', aud: 'eventing.knative.dev/broker/ordersaga/default' });
  });

  it('gives a function process its projected token as a file where its env points, and the issuer to verify with', async () => {
    const accounts = topology().services.find((s) => s.name === 'accounts')!;
    const env = await oidc.envFor(accounts);
    expect(env).toMatchObject({ AUTHENTICATION_OIDC: 'enabled', OIDC_ISSUER: oidc.issuer.url, OIDC_ISSUER_CA_FILE: '', OIDC_ISSUER_TOKEN_FILE: '' });
    expect(env.OIDC_TOKEN_FILE).toBe(path.join(dir, 'pods', 'accounts', '/var/run/secrets/ordersaga/broker/token'));
    expect(claims(readFileSync(env.OIDC_TOKEN_FILE!, 'utf8'))).toMatchObject({ sub: 'system:serviceaccount:ordersaga:accounts', aud: 'eventing.knative.dev/broker/ordersaga/default' });
  });

  it('gives a function that sends nothing to K_SINK no token file', async () => {
    const notify = topology().services.find((s) => s.name === 'notify')!;
    expect((await oidc.envFor(notify)).OIDC_TOKEN_FILE).toBeUndefined();
    expect(existsSync(path.join(dir, 'pods', 'notify'))).toBe(false);
  });

  it('signs a PingSource\'s tick as the PingSource, for its sink\'s audience', async () => {
    const reconciler = topology().pingSources.find((p) => p.name === 'reconciler')!;
    expect(claims(await oidc.pingAuthorization(reconciler))).toMatchObject({
      sub: 'system:serviceaccount:ordersaga:reconciler-oidc-sources.knative.dev-pingsource',
      aud: 'serving.knative.dev/service/ordersaga/place-order',
    });
    expect(await oidc.pingAuthorization({ ...reconciler, sink: { uri: 'http://elsewhere/' } })).toBeUndefined();
  });

  it('lets the console send as its ServiceAccount', async () => {
    expect(claims(await oidc.consoleAuthorization())).toMatchObject({ sub: 'system:serviceaccount:ordersaga:console' });
  });
});
