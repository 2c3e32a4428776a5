/**
 * Reads the Knative manifests the cluster deploys (`knative/base/`) through
 * the Knative model and derives what the local stand-in runs from them: one
 * process per Knative Service with the env it declares, the SinkBinding's
 * K_SINK, PingSources, and the Ingress routes. The Broker reads the Brokers
 * and Triggers from the same documents. One source of truth for both worlds.
 */
import path from 'node:path';
import { arr, dig, isKind, loadDirectory, nameOf, namespaceOf, readModel, rec, str, subjectMatches } from '../knative/model/index.js';
import type { Destination, Manifest, PingSourceModel } from '../knative/model/index.js';

export type { Destination, Manifest } from '../knative/model/index.js';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  /** Env as declared, with ConfigMap/Secret references resolved from the same documents. */
  env: Record<string, string>;
  /** The SinkBinding's sink, when one binds this Service (K_SINK). */
  sink?: Destination;
  /** The ServiceAccount it runs as (`serviceAccountName`, else `default`). */
  serviceAccount: string;
  /** Its projected ServiceAccount tokens: where each is in the container, and for whom. */
  projectedTokens: { path: string; audience?: string }[];
}

export interface IngressRoute {
  /** Anchored regular expression over the request path. */
  pattern: RegExp;
  source: string;
  service: string;
}

export interface Topology {
  manifests: Manifest[];
  services: ServiceSpec[];
  pingSources: PingSourceModel[];
  routes: IngressRoute[];
}

/** Every document of the `.yaml`/`.yml` files of `dir` (kustomization files excepted). @throws {ManifestError} */
export function loadManifests(dir: string): Manifest[] {
  const { docs, problems } = loadDirectory(dir);
  if (problems.length > 0) throw new ManifestError(`${problems[0]!.resource}: ${problems[0]!.message}`);
  return docs;
}

function dataOf(docs: Manifest[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const doc = docs.find((d) => isKind(d, '', kind) && nameOf(d) === name);
  if (!doc) return undefined;
  const data = Object.entries(rec(doc.data) ?? {}).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v)]);
  return { ...Object.fromEntries(data), ...(rec(doc.stringData) as Record<string, string> | undefined) };
}

function resolveEnv(docs: Manifest[], service: string, vars: unknown[], from: unknown[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of from) {
    const [kind, ref] = rec(dig(source, 'configMapRef')) ? (['ConfigMap', rec(dig(source, 'configMapRef'))] as const) : (['Secret', rec(dig(source, 'secretRef'))] as const);
    const data = dataOf(docs, kind, String(ref?.name));
    if (!data && ref?.optional !== true) throw new ManifestError(`Service ${service}: envFrom refers to ${kind} ${String(ref?.name)}, which the manifests do not define`);
    Object.assign(env, data);
  }
  for (const v of vars) {
    const name = str(dig(v, 'name')) ?? '';
    if (dig(v, 'value') !== undefined) {
      env[name] = String(dig(v, 'value'));
      continue;
    }
    const kind = dig(v, 'valueFrom', 'configMapKeyRef') ? 'ConfigMap' : 'Secret';
    const ref = rec(dig(v, 'valueFrom', kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'));
    if (!ref) continue;
    const value = dataOf(docs, kind, String(ref.name))?.[String(ref.key)];
    if (value === undefined && ref.optional !== true) {
      throw new ManifestError(`Service ${service}: env ${name} refers to ${kind} ${String(ref.name)} key ${String(ref.key)}, which the manifests do not define`);
    }
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The container's mounted `serviceAccountToken` projections, as files in the container. */
function projectedTokens(pod: unknown, container: unknown): ServiceSpec['projectedTokens'] {
  return arr(dig(container, 'volumeMounts')).flatMap((mount) => {
    const volume = arr(dig(pod, 'volumes')).find((v) => dig(v, 'name') === dig(mount, 'name'));
    return arr(dig(volume, 'projected', 'sources'))
      .map((source) => rec(dig(source, 'serviceAccountToken')))
      .filter((token) => token !== undefined)
      .map((token) => ({ path: path.posix.join(String(dig(mount, 'mountPath')), String(token.path)), audience: str(token.audience) }));
  });
}

/** Derives the stand-in's topology from the manifests; refuses what Knative would refuse, or the stand-in cannot run. */
export function topologyOf(docs: Manifest[], defaultNamespace = 'ordersaga'): Topology {
  const model = readModel(docs, { defaultNamespace });
  const refused = model.problems.filter((p) => !p.noop);
  if (refused.length > 0) throw new ManifestError(refused.map((p) => `${p.resource}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'));
  const bindings = docs.filter((d) => isKind(d, 'sources.knative.dev', 'SinkBinding'));
  const services = docs
    .filter((d) => isKind(d, 'serving.knative.dev', 'Service'))
    .map((doc) => {
      const name = nameOf(doc);
      const containers = arr(dig(doc, 'spec', 'template', 'spec', 'containers'));
      if (containers.length !== 1) throw new ManifestError(`Service ${name}: expected one container, found ${containers.length}`);
      const namespace = namespaceOf(doc, defaultNamespace);
      const binding = bindings.find((b) => subjectMatches(rec(dig(b, 'spec', 'subject')) ?? {}, [doc], namespaceOf(b, defaultNamespace)).length > 0);
      const pod = dig(doc, 'spec', 'template', 'spec');
      return {
        name,
        namespace,
        env: resolveEnv(docs, name, arr(dig(containers[0], 'env')), arr(dig(containers[0], 'envFrom'))),
        sink: rec(dig(binding, 'spec', 'sink')) as Destination | undefined,
        serviceAccount: str(dig(pod, 'serviceAccountName')) ?? 'default',
        projectedTokens: projectedTokens(pod, containers[0]),
      };
    });

  const routes: IngressRoute[] = [];
  for (const doc of docs.filter((d) => isKind(d, 'networking.k8s.io', 'Ingress'))) {
    for (const p of arr(dig(doc, 'spec', 'rules')).flatMap((rule) => arr(dig(rule, 'http', 'paths')))) {
      const [source, service] = [str(dig(p, 'path')) ?? '', str(dig(p, 'backend', 'service', 'name'))];
      if (!service) continue;
      if (!services.some((s) => s.name === service)) throw new ManifestError(`Ingress ${nameOf(doc)}: backend ${service} is not a Knative Service in the manifests`);
      routes.push({ pattern: new RegExp(source.startsWith('^') ? source : `^${source}`), source, service });
    }
  }
  // nginx tries regex locations longest first; so does the gateway.
  routes.sort((a, b) => b.source.length - a.source.length);
  return { manifests: docs, services, pingSources: model.pingSources, routes };
}
