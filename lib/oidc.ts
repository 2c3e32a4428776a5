/**
 * Sender authentication as a Knative workload takes part in it (the
 * `authentication-oidc` feature): when it is enabled, every event sent to
 * K_SINK carries the function's own ServiceAccount token (a projected token
 * whose audience is the Broker, re-read as the kubelet rotates it), and every
 * delivery must carry a JWT of the token issuer for this Service's audience
 * (the one its Triggers name), as the Broker sends it. Off, neither happens.
 *
 * The issuer's keys come from its OIDC discovery document
 * (`<issuer>/.well-known/openid-configuration`), as eventing's
 * `pkg/auth/verifier.go` gets them: in a cluster the API server's, read with
 * the pod's own token and the cluster's CA; locally the stand-in's issuer.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors as jose, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { Agent, request } from 'undici';
import { ConfigError, opt } from './config.js';
import { subjectContained } from '../knative/model/subjects.js';
import { ForbiddenError, TransientError, UnauthorizedError } from './errors.js';
import type { Logger } from './log.js';

/** What every function reads for sender authentication. */
export const oidcOptions = {
  authenticationOidc: opt.oneOf('AUTHENTICATION_OIDC', "sender authentication of events (Knative's authentication-oidc)", ['enabled', 'disabled'] as const, 'disabled'),
  oidcIssuer: opt.optionalUrl('OIDC_ISSUER', 'discovery URL of the token issuer (https://kubernetes.default.svc in a cluster)'),
  oidcIssuerCaFile: opt.optionalString('OIDC_ISSUER_CA_FILE', "CA certificates of the issuer's TLS certificate"),
  oidcIssuerTokenFile: opt.optionalString('OIDC_ISSUER_TOKEN_FILE', "bearer token for the issuer's discovery (the pod's own ServiceAccount token)"),
  oidcAudience: opt.optionalString('OIDC_AUDIENCE', "the audience a delivery's token must name: this Service's"),
  oidcSenders: opt.optionalString('OIDC_SENDERS', "subjects a delivery's token may have, comma-separated, a trailing * matching any suffix (unset: any)"),
  oidcTokenFile: opt.optionalString('OIDC_TOKEN_FILE', 'the ServiceAccount token (audience: the Broker) sent with every event to K_SINK'),
};

export interface OidcConfig {
  authenticationOidc: 'enabled' | 'disabled';
  oidcIssuer: string | undefined;
  oidcIssuerCaFile: string | undefined;
  oidcIssuerTokenFile: string | undefined;
  oidcAudience: string | undefined;
  oidcSenders: string | undefined;
  oidcTokenFile: string | undefined;
}

/** A function's side of sender authentication. */
export interface SenderAuth {
  readonly enabled: boolean;
  /**
   * Checks a delivery's `Authorization` header; resolves to the token's subject (undefined when the feature is off).
   * @throws {UnauthorizedError} without a token, or with one that is not the issuer's, not for this audience, or expired
   * @throws {ForbiddenError} for a subject OIDC_SENDERS does not name
   * @throws {TransientError} when the issuer's keys cannot be had
   */
  verify(authorization: string | undefined): Promise<string | undefined>;
  /** The `Authorization` header for K_SINK; undefined when the feature is off or the token cannot be read (logged). */
  sinkAuthorization(): string | undefined;
}

/** How long a read token is used before the file is read again (the kubelet rotates it well before it expires). */
const TOKEN_REREAD_MS = 60_000;
/** The least time between two fetches of the issuer's keys, however many unknown keys arrive. */
const KEYS_REFETCH_MS = 10_000;

/** The functions' sender authentication, from their configuration. @throws {ConfigError} when enabled without what it needs. */
export function createSenderAuth(config: OidcConfig, options: { log: Logger; sink: string | undefined }): SenderAuth {
  if (config.authenticationOidc !== 'enabled') return { enabled: false, verify: async () => undefined, sinkAuthorization: () => undefined };
  const missing = [
    config.oidcIssuer === undefined && 'OIDC_ISSUER',
    config.oidcAudience === undefined && 'OIDC_AUDIENCE',
    options.sink !== undefined && config.oidcTokenFile === undefined && 'OIDC_TOKEN_FILE (this function sends to K_SINK)',
  ].filter(Boolean);
  if (missing.length > 0) throw new ConfigError(`AUTHENTICATION_OIDC is enabled, so these are required: ${missing.join(', ')}`);
  const keys = issuerKeys(config.oidcIssuer!, config.oidcIssuerCaFile, config.oidcIssuerTokenFile);
  const audience = config.oidcAudience!;
  const senders = config.oidcSenders?.split(',').map((s) => s.trim()).filter(Boolean);
  let token: { value: string; readAt: number } | undefined;

  const verify = async (authorization: string | undefined): Promise<string | undefined> => {
    const jwt = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!jwt) throw new UnauthorizedError('A delivery needs Authorization: Bearer <JWT> (sender authentication is enabled)');
    const { issuer, keySet } = await keys.current();
    let subject: string | undefined;
    try {
      subject = (await jwtVerify(jwt, keySet, { issuer, audience })).payload.sub;
    } catch (err) {
      // A key the issuer added since: fetch its keys again, once in a while.
      if (err instanceof jose.JWKSNoMatchingKey && (await keys.refresh())) return verify(authorization);
      if (err instanceof jose.JOSEError) throw new UnauthorizedError(`The delivery's token is not valid: ${err.message}`);
      throw err;
    }
    if (senders && !subjectContained(subject ?? '', senders)) throw new ForbiddenError(`${subject ?? 'A token without a subject'} may not deliver events here`);
    return subject;
  };

  return {
    enabled: true,
    verify,
    sinkAuthorization() {
      if (!token || Date.now() - token.readAt > TOKEN_REREAD_MS) {
        try {
          token = { value: readFileSync(config.oidcTokenFile!, 'utf8').trim(), readAt: Date.now() };
        } catch (err) {
          options.log.warn('cannot read the token for K_SINK', { file: config.oidcTokenFile, error: (err as Error).message });
          return undefined;
        }
      }
      return `Bearer ${token.value}`;
    },
  };
}

interface IssuerKeys {
  current(): Promise<{ issuer: string; keySet: JWTVerifyGetKey }>;
  /** Fetches the keys again unless that was done a moment ago; whether it did. */
  refresh(): Promise<boolean>;
}

/** The issuer's discovery document and keys, fetched once and again when a token names a key they lack. */
function issuerKeys(discoveryUrl: string, caFile: string | undefined, tokenFile: string | undefined): IssuerKeys {
  let ca: Buffer | undefined;
  try {
    ca = caFile === undefined ? undefined : readFileSync(caFile);
  } catch (err) {
    throw new ConfigError(`OIDC_ISSUER_CA_FILE: ${(err as Error).message}`);
  }
  const dispatcher = new Agent(ca ? { connect: { ca } } : {});
  const get = async (url: string): Promise<Record<string, unknown>> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (tokenFile) headers.authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
    const res = await request(url, { headers, dispatcher, headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`${url} answered ${res.statusCode}`);
    }
    return (await res.body.json()) as Record<string, unknown>;
  };
  let loaded: Promise<{ issuer: string; keySet: JWTVerifyGetKey }> | undefined;
  let fetchedAt = 0;
  const load = () => {
    fetchedAt = Date.now();
    loaded = (async () => {
      const discovery = await get(`${discoveryUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`);
      const [issuer, jwksUri] = [discovery.issuer, discovery.jwks_uri];
      if (typeof issuer !== 'string' || typeof jwksUri !== 'string') throw new Error('the discovery document names no issuer and jwks_uri');
      return { issuer, keySet: createLocalJWKSet((await get(jwksUri)) as unknown as JSONWebKeySet) };
    })().catch((err: unknown) => {
      loaded = undefined;
      throw new TransientError(`The token issuer's keys cannot be read: ${(err as Error).message}`);
    });
    return loaded;
  };
  return {
    current: () => loaded ?? load(),
    async refresh() {
      if (Date.now() - fetchedAt < KEYS_REFETCH_MS) return false;
      await load();
      return true;
    },
  };
}
