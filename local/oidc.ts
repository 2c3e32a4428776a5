/**
 * Sender authentication in the stand-in (Knative's `authentication-oidc`):
 * whether it is on (the manifests' `config-features`, overridden by
 * AUTHENTICATION_OIDC), the manifests it then adds (the overlays'
 * `components/oidc`), and the token issuer that stands in for a cluster's
 * API server: one RS256 key kept in the data folder, its discovery document
 * and JWKS on 127.0.0.1 (as at `https://kubernetes.default.svc`), tokens
 * `system:serviceaccount:<namespace>:<name>` for an audience. Each party gets
 * its own: every function process its projected tokens as files, renewed as
 * the kubelet renews them; the operator's in the data folder; the
 * PingSources' and the console's for their targets.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { ConfigError } from '../lib/config.js';
import { audienceOf, destinationAudience, oidcSubjectOf, readModel, type Manifest, type PingSourceModel } from '../knative/model/index.js';
import type { ServiceSpec } from './manifests.js';
import { listen } from './ports.js';

/** The `iss` of every token, as a cluster's API server names itself. */
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** A projected token's default lifetime (`expirationSeconds`). */
const TOKEN_TTL_SECONDS = 3600;

export interface Issuer {
  /** Where its discovery document is (`<url>/.well-known/openid-configuration`). */
  url: string;
  /** A token of `subject` for `audience`; one is reused until four fifths of its life are gone. */
  token(subject: string, audience: string, ttlSeconds?: number): Promise<string>;
  /** The subject of a token this issuer signed for `audience`. @throws a jose error for any other token */
  verify(token: string, audience: string): Promise<string>;
  /** Keeps a token of `subject` for `audience` in `file`, renewed while the issuer runs. */
  project(file: string, subject: string, audience: string, ttlSeconds?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the issuer on 127.0.0.1 (`port` 0: any free port), its key made once per data folder. */
export async function startIssuer(dataDir: string, port = 0): Promise<Issuer> {
  const { privateKey, publicJwk } = await signingKey(path.join(dataDir, 'oidc-signing-key.json'));
  const keySet = createLocalJWKSet({ keys: [publicJwk] });
  const cache = new Map<string, { token: string; renewAt: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: ISSUER, jwks_uri: `${url}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] }
        : req.url === '/openid/v1/jwks' && { keys: [publicJwk] };
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ? JSON.stringify(body) : '');
  });
  const url = `http://127.0.0.1:${await listen(server, port)}`;

  const token = async (subject: string, audience: string, ttlSeconds = TOKEN_TTL_SECONDS) => {
    const key = `${subject}\n${audience}\n${ttlSeconds}`;
    const kept = cache.get(key);
    if (kept && kept.renewAt > Date.now()) return kept.token;
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: publicJwk.kid! }).setIssuer(ISSUER).setSubject(subject).setAudience(audience).setIssuedAt().setExpirationTime(`${ttlSeconds}s`).sign(privateKey);
    cache.set(key, { token: jwt, renewAt: Date.now() + ttlSeconds * 800 });
    return jwt;
  };
  return {
    url,
    token,
    async verify(jwt, audience) {
      const { payload } = await jwtVerify(jwt, keySet, { issuer: ISSUER, audience });
      return payload.sub ?? '';
    },
    async project(file, subject, audience, ttlSeconds = TOKEN_TTL_SECONDS) {
      mkdirSync(path.dirname(file), { recursive: true });
      const write = async () => writeAtomically(file, await token(subject, audience, ttlSeconds));
      await write();
      const timer = setInterval(() => void write(), ttlSeconds * 800).unref();
      timers.add(timer);
    },
    close: () =>
      new Promise<void>((resolve) => {
        timers.forEach(clearInterval);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The signing key kept in `file` (made on first use, readable by its owner only). */
async function signingKey(file: string): Promise<{ privateKey: Awaited<ReturnType<typeof importJWK>>; publicJwk: JWK }> {
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    writeFileSync(file, JSON.stringify({ ...jwk, alg: 'RS256', kid: await calculateJwkThumbprint(jwk) }) + '\n', { mode: 0o600 });
  }
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { kty, n, e, kid } = jwk;
  return { privateKey: await importJWK(jwk, 'RS256'), publicJwk: { kty, n, e, kid, alg: 'RS256', use: 'sig' } };
}

/** Replaces `file` whole, so that a reader never sees half a token. */
function writeAtomically(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The ServiceAccount of the people who send commands (knative/base/serviceaccounts.yaml). */
export const OPERATOR_SERVICE_ACCOUNT = 'ordersaga-operator';
/** The ServiceAccount the console runs as in a cluster (knative/components/console); the stand-in serves it itself. */
const CONSOLE_SERVICE_ACCOUNT = 'console';
/** How long the operator's token lasts: a working day, renewed while the stack runs. */
const OPERATOR_TOKEN_TTL_SECONDS = 24 * 3600;

/** The OIDC subject of a ServiceAccount, as the API server's tokens name it. */
const account = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

/** Where the overlays' sender-authentication manifests are, beside the folder the stand-in runs. */
export const senderAuthManifestsDir = (manifestsDir: string): string => path.resolve(manifestsDir, '..', 'components', 'oidc');

/** Whether sender authentication is on: AUTHENTICATION_OIDC when set, else the manifests' config-features. @throws {ConfigError} */
export function senderAuthenticationOn(env: NodeJS.ProcessEnv, docs: readonly Manifest[]): boolean {
  const given = env.AUTHENTICATION_OIDC ?? '';
  if (given !== '' && given !== 'enabled' && given !== 'disabled') throw new ConfigError(`AUTHENTICATION_OIDC=${JSON.stringify(given)}: must be enabled or disabled`);
  return (given || readModel(docs).features['authentication-oidc']) === 'enabled';
}

export interface LocalOidc {
  issuer: Issuer;
  /** The operator's token, for `npm run send` and `kn event send`. */
  operatorTokenFile: string;
  /** What a function process gets on top of its manifest's env: the issuer's address, and its projected tokens as files. */
  envFor(service: ServiceSpec): Promise<Record<string, string>>;
  /** The `Authorization` of a PingSource's tick: its own identity, for its sink's audience (none without one). */
  pingAuthorization(source: PingSourceModel): Promise<string | undefined>;
  /** The console's `Authorization` for the Broker. */
  consoleAuthorization(): Promise<string>;
}

/** Starts the issuer and writes the operator's token; `namespace/broker` is the Broker the tokens are for. */
export async function startLocalOidc(dataDir: string, namespace: string, broker: string): Promise<LocalOidc> {
  const issuer = await startIssuer(dataDir);
  const brokerAudience = audienceOf('eventing.knative.dev', 'Broker', namespace, broker);
  const operatorTokenFile = path.join(dataDir, 'operator.jwt');
  await issuer.project(operatorTokenFile, account(namespace, OPERATOR_SERVICE_ACCOUNT), brokerAudience, OPERATOR_TOKEN_TTL_SECONDS);
  return {
    issuer,
    operatorTokenFile,
    async envFor(service) {
      const env: Record<string, string> = { AUTHENTICATION_OIDC: 'enabled', OIDC_ISSUER: issuer.url, OIDC_ISSUER_CA_FILE: '', OIDC_ISSUER_TOKEN_FILE: '' };
      for (const token of service.projectedTokens) {
        const file = path.join(dataDir, 'pods', service.name, token.path);
        // A projected token without an audience is for the API server, as in a cluster.
        await issuer.project(file, account(service.namespace, service.serviceAccount), token.audience ?? ISSUER);
        for (const [name, value] of Object.entries(service.env)) if (value === token.path) env[name] = file;
      }
      return env;
    },
    async pingAuthorization(source) {
      const audience = destinationAudience(source.sink, source.namespace);
      return audience && `Bearer ${await issuer.token(oidcSubjectOf('sources.knative.dev', 'PingSource', source.namespace, source.name), audience)}`;
    },
    consoleAuthorization: async () => `Bearer ${await issuer.token(account(namespace, CONSOLE_SERVICE_ACCOUNT), brokerAudience)}`,
  };
}
