/**
 * The stand-in's OIDC token issuer, in the place of a cluster's ServiceAccount
 * token issuer (the API server): one RS256 key kept in the data folder, its
 * discovery document and JWKS served on 127.0.0.1 (as at
 * `https://kubernetes.default.svc/.well-known/openid-configuration`), and
 * tokens `system:serviceaccount:<namespace>:<name>` for an audience, written
 * to files and renewed before they expire as the kubelet does a projected token.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

/** The `iss` of every token, as a cluster's API server names itself. */
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** A projected token's default lifetime (`expirationSeconds`). */
export const TOKEN_TTL_SECONDS = 3600;

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
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

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
