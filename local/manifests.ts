/**
 * Reads the Knative manifests the cluster deploys (`knative/base/`) and
 * derives what the local stand-in runs from them: one process per Knative
 * Service with the env it declares, the SinkBinding's K_SINK, PingSources,
 * and the Ingress routes. The Broker reads the Brokers and Triggers from the
 * same documents. One source of truth for both worlds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  /** Env as declared, with ConfigMap/Secret references resolved from the same documents. */
  env: Record<string, string>;
  /** Whether a SinkBinding gives this Service K_SINK. */
  sinkBound: boolean;
  /** The SinkBinding's sink, when bound. */
  sink?: Destination;
}

export interface Destination {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string };
  uri?: string;
}

export interface PingSourceSpec {
  name: string;
  namespace: string;
  schedule: string;
  data: string;
  contentType: string;
  sink: Destination;
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
  pingSources: PingSourceSpec[];
  routes: IngressRoute[];
}

/** Every YAML document in the `.yaml`/`.yml` files of `dir` (kustomization files excepted). */
export function loadManifests(dir: string): Manifest[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
    .sort();
  const docs: Manifest[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new ManifestError(`${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as Manifest | null;
      if (value && typeof value === 'object' && value.kind) docs.push(value);
    }
  }
  return docs;
}

const nameOf = (m: Manifest) => m.metadata?.name ?? '';
const namespaceOf = (m: Manifest, fallback: string) => m.metadata?.namespace ?? fallback;
const isKind = (m: Manifest, kind: string, group: string) => m.kind === kind && (m.apiVersion ?? '').startsWith(group);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string; optional?: boolean }; secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

function dataOf(docs: Manifest[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const doc = docs.find((d) => d.kind === kind && nameOf(d) === name) as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
  if (!doc) return undefined;
  const decoded = kind === 'Secret' ? Object.fromEntries(Object.entries(doc.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : (doc.data ?? {});
  return { ...decoded, ...(doc.stringData ?? {}) };
}

function resolveEnv(docs: Manifest[], service: string, vars: EnvVar[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    if (v.value !== undefined) {
      env[v.name] = String(v.value);
      continue;
    }
    const ref = v.valueFrom?.configMapKeyRef ?? v.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const kind = v.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const value = dataOf(docs, kind, ref.name)?.[ref.key];
    if (value === undefined) {
      if (ref.optional) continue;
      throw new ManifestError(`Service ${service}: env ${v.name} refers to ${kind} ${ref.name} key ${ref.key}, which the manifests do not define`);
    }
    env[v.name] = value;
  }
  return env;
}

function matchesSelector(labels: Record<string, string> | undefined, selector: { matchLabels?: Record<string, string> } | undefined): boolean {
  if (!selector?.matchLabels) return false;
  return Object.entries(selector.matchLabels).every(([k, v]) => labels?.[k] === v);
}

/** Derives the stand-in's topology from the manifests; refuses what it cannot run. */
export function topologyOf(docs: Manifest[], defaultNamespace = 'ordersaga'): Topology {
  const services: ServiceSpec[] = [];
  const bindings = docs.filter((d) => isKind(d, 'SinkBinding', 'sources.knative.dev'));
  for (const doc of docs.filter((d) => isKind(d, 'Service', 'serving.knative.dev'))) {
    const name = nameOf(doc);
    const template = (doc as { spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { env?: EnvVar[] }[] } } } }).spec?.template;
    const containers = template?.spec?.containers ?? [];
    if (containers.length !== 1) throw new ManifestError(`Service ${name}: expected one container, found ${containers.length}`);
    const binding = bindings.find((b) => {
      const subject = (b as { spec?: { subject?: { kind?: string; name?: string; selector?: { matchLabels?: Record<string, string> } } } }).spec?.subject;
      if (!subject) return false;
      if (subject.name) return subject.name === name;
      return matchesSelector({ ...doc.metadata?.labels, ...template?.metadata?.labels }, subject.selector);
    });
    services.push({
      name,
      namespace: namespaceOf(doc, defaultNamespace),
      env: resolveEnv(docs, name, containers[0]!.env ?? []),
      sinkBound: binding !== undefined,
      sink: (binding as { spec?: { sink?: Destination } } | undefined)?.spec?.sink,
    });
  }

  const pingSources = docs
    .filter((d) => isKind(d, 'PingSource', 'sources.knative.dev'))
    .map((d) => {
      const spec = (d as { spec?: { schedule?: string; data?: string; contentType?: string; sink?: Destination } }).spec ?? {};
      if (!spec.schedule || !spec.sink) throw new ManifestError(`PingSource ${nameOf(d)}: schedule and sink are required`);
      return {
        name: nameOf(d),
        namespace: namespaceOf(d, defaultNamespace),
        schedule: spec.schedule,
        data: spec.data ?? '',
        contentType: spec.contentType ?? 'application/json',
        sink: spec.sink,
      };
    });

  const routes: IngressRoute[] = [];
  for (const doc of docs.filter((d) => d.kind === 'Ingress')) {
    const rules = (doc as { spec?: { rules?: { http?: { paths?: { path: string; backend?: { service?: { name: string } } }[] } }[] } }).spec?.rules ?? [];
    for (const rule of rules) {
      for (const p of rule.http?.paths ?? []) {
        const service = p.backend?.service?.name;
        if (!service) continue;
        if (!services.some((s) => s.name === service)) throw new ManifestError(`Ingress ${nameOf(doc)}: backend ${service} is not a Knative Service in the manifests`);
        routes.push({ pattern: new RegExp(p.path.startsWith('^') ? p.path : `^${p.path}`), source: p.path, service });
      }
    }
  }
  // nginx tries regex locations longest first; so does the gateway.
  routes.sort((a, b) => b.source.length - a.source.length);

  return { manifests: docs, services, pingSources, routes };
}
