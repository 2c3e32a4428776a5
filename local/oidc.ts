/**
 * Sender authentication in the stand-in (Knative's `authentication-oidc`):
 * whether it is on (the manifests' `config-features`, overridden by
 * AUTHENTICATION_OIDC), the manifests it then adds (the overlays'
 * `components/oidc`: the feature and the EventPolicies), and the tokens the
 * issuer gives each party: every function process its projected
 * ServiceAccount tokens as files, as a pod gets them; the operator's token in
 * the data folder; the PingSources' and the console's for their targets.
 */
import path from 'node:path';
import { ConfigError } from '../lib/config.js';
import { audienceOf, destinationAudience, oidcSubjectOf, readModel, type Manifest, type PingSourceModel } from '../knative/model/index.js';
import { ISSUER, startIssuer, type Issuer } from './issuer.js';
import type { ServiceSpec } from './manifests.js';

/** The ServiceAccount of the people who send commands (knative/base/serviceaccounts.yaml). */
export const OPERATOR_SERVICE_ACCOUNT = 'ordersaga-operator';
/** The ServiceAccount the console runs as in a cluster (knative/components/console); the stand-in serves it itself. */
export const CONSOLE_SERVICE_ACCOUNT = 'console';
/** How long the operator's token lasts: a working day, renewed while the stack runs. */
const OPERATOR_TOKEN_TTL_SECONDS = 24 * 3600;

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
  const account = (name: string) => `system:serviceaccount:${namespace}:${name}`;
  const operatorTokenFile = path.join(dataDir, 'operator.jwt');
  await issuer.project(operatorTokenFile, account(OPERATOR_SERVICE_ACCOUNT), brokerAudience, OPERATOR_TOKEN_TTL_SECONDS);
  return {
    issuer,
    operatorTokenFile,
    async envFor(service) {
      const env: Record<string, string> = { AUTHENTICATION_OIDC: 'enabled', OIDC_ISSUER: issuer.url, OIDC_ISSUER_CA_FILE: '', OIDC_ISSUER_TOKEN_FILE: '' };
      for (const token of service.projectedTokens) {
        const file = path.join(dataDir, 'pods', service.name, token.path);
        // A projected token without an audience is for the API server, as in a cluster.
        await issuer.project(file, `system:serviceaccount:${service.namespace}:${service.serviceAccount}`, token.audience ?? ISSUER);
        for (const [name, value] of Object.entries(service.env)) if (value === token.path) env[name] = file;
      }
      return env;
    },
    async pingAuthorization(source) {
      const audience = destinationAudience(source.sink, source.namespace);
      return audience && `Bearer ${await issuer.token(oidcSubjectOf('sources.knative.dev', 'PingSource', source.namespace, source.name), audience)}`;
    },
    consoleAuthorization: async () => `Bearer ${await issuer.token(account(CONSOLE_SERVICE_ACCOUNT), brokerAudience)}`,
  };
}
