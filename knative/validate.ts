/**
 * Offline validation of the Knative manifests and skaffold.yaml, for
 * machines with no API server: what `kubectl apply` with strict field
 * validation and the Knative webhooks would reject, checked before a
 * cluster ever sees it ({@link validateDocuments}, {@link validateSkaffold}),
 * and ordersaga's own rules ({@link checkConventions}). Every check reports
 * {@link Problem}s; none throws on bad input.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  arr,
  describe,
  dig,
  findDoc,
  groupOf,
  groupVersion,
  isKind,
  isKnativeService,
  isRecord,
  nameOf,
  namespaceOf,
  parseManifests,
  readModel,
  rec,
  str,
  subjectMatches,
  type Finding,
  type Manifest,
  type Problem,
} from './model/index.js';

export type { Manifest, Problem } from './model/index.js';

/** The repository root: this file lives in `<root>/knative/`. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The shared schemas, cloned beside the repository (`<root>/../shared/schemas`). */
export function sharedSchemasDir(repoRoot: string = REPO_ROOT): string {
  return path.resolve(repoRoot, '..', 'shared', 'schemas');
}

// ---------------------------------------------------------------------------
// Schemas

/** Extension keywords of the Kubernetes and skaffold schemas, declared so strict mode still rejects anything else. */
const SCHEMA_KEYWORDS = [
  ...['group-version-kind', 'int-or-string', 'list-map-keys', 'list-type', 'map-type', 'preserve-unknown-fields', 'embedded-resource'].map((k) => `x-kubernetes-${k}`),
  'x-intellij-html-description',
  'preferredOrder',
];

/** A strict ajv for the shared schemas (draft-07, ajv's default dialect); Kubernetes' integer formats are checked by range. */
function createSchemaAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  ajv.addVocabulary(SCHEMA_KEYWORDS);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

const schemaSets = new Map<string, Map<string, ValidateFunction>>();

/** The compiled schema of each Knative kind in `<dir>/knative/jsonschema-strict/`, keyed `group/version/kind`, once per directory. */
export function loadSchemas(dir: string = sharedSchemasDir()): Map<string, ValidateFunction> {
  const cached = schemaSets.get(dir);
  if (cached) return cached;
  const ajv = createSchemaAjv();
  const schemas = new Map<string, ValidateFunction>();
  const folder = path.join(dir, 'knative', 'jsonschema-strict');
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
    const schema = JSON.parse(readFileSync(path.join(folder, file), 'utf8')) as { properties?: Record<string, unknown> };
    // The API server gives every CRD these fields; a schema made from an openAPIV3Schema alone (EventPolicy's) lacks them.
    schema.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...schema.properties };
    const validate = ajv.compile(schema);
    // Keyed by lower-case kind: a schema without its group-version-kind (EventPolicy's) is named by its file, `<kind>-<group>-<version>.json`.
    const named = /^([a-z]+)-(.+)-(v[0-9a-z]+)\.json$/.exec(file);
    const gvks = arr((schema as Record<string, unknown>)['x-kubernetes-group-version-kind']).map(rec);
    for (const g of gvks.length > 0 ? gvks : [{ kind: named?.[1], group: named?.[2], version: named?.[3] }]) {
      if (g) schemas.set(`${str(g.group)}/${str(g.version)}/${str(g.kind)?.toLowerCase()}`, validate);
    }
  }
  schemaSets.set(dir, schemas);
  return schemas;
}

function schemaProblems(resource: string, errors: ErrorObject[] | null | undefined, rule: string): Problem[] {
  const out = new Map<string, Problem>();
  for (const e of errors ?? []) {
    // ajv's instancePath (`/spec/containers/0`) as a dotted path (`spec.containers[0]`).
    let where = e.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const field = String((e.params as { additionalProperty?: unknown }).additionalProperty);
      [where, message] = [where ? `${where}.${field}` : field, `unknown field "${field}"`];
    } else if (e.keyword === 'enum') message = `${message}: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`;
    out.set(`${where}\u0000${message}`, { rule, resource, path: where, message });
  }
  return [...out.values()];
}

// ---------------------------------------------------------------------------
// What neither the schemas nor the Knative model say

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';
const AUTOSCALING_INTEGERS = ['min-scale', 'max-scale', 'initial-scale', 'activation-scale', 'minScale', 'maxScale', 'initialScale'];
const AUTOSCALING_POSITIVE = ['target', 'target-utilization-percentage', 'panic-window-percentage', 'panic-threshold-percentage'];
const AUTOSCALING_KEYS = new Set([...AUTOSCALING_INTEGERS, ...AUTOSCALING_POSITIVE, 'class', 'metric', 'target-burst-capacity', 'scale-down-delay', 'scale-to-zero-pod-retention-period', 'window']);
const AUTOSCALING_VALUES: Record<string, string[]> = { class: ['kpa.autoscaling.knative.dev', 'hpa.autoscaling.knative.dev'], metric: ['concurrency', 'rps', 'cpu', 'memory'] };
/** Knative's default ceilings (config-defaults: container-concurrency-max-limit, max-revision-timeout-seconds). */
const MAX_CONTAINER_CONCURRENCY = 1000;
const MAX_TIMEOUT_SECONDS = 600;
const naturalString = (value: unknown) => typeof value === 'string' && /^\d+$/.test(value);
const integerIn = (value: unknown, min: number, max: number) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

function autoscalingProblems(annotations: Record<string, unknown>, at: string): Finding[] {
  const out: Finding[] = [];
  for (const [key, value] of Object.entries(annotations).filter(([k]) => k.startsWith(AUTOSCALING_PREFIX))) {
    const [name, where] = [key.slice(AUTOSCALING_PREFIX.length), `${at}.${key}`];
    if (!AUTOSCALING_KEYS.has(name)) out.push({ path: where, message: `unknown autoscaling annotation "${key}"` });
    else if (typeof value !== 'string') out.push({ path: where, message: 'annotation values are strings (quote the number)' });
    else if (AUTOSCALING_INTEGERS.includes(name) && !naturalString(value)) out.push({ path: where, message: `${name} must be a non-negative integer, not ${JSON.stringify(value)}` });
    else if (AUTOSCALING_POSITIVE.includes(name) && !(Number(value) > 0)) out.push({ path: where, message: `${name} must be a positive number, not ${JSON.stringify(value)}` });
    else if (AUTOSCALING_VALUES[name] && !AUTOSCALING_VALUES[name].includes(value)) out.push({ path: where, message: `${name} must be one of ${AUTOSCALING_VALUES[name].join(', ')}` });
  }
  const [min, max] = [annotations[`${AUTOSCALING_PREFIX}min-scale`], annotations[`${AUTOSCALING_PREFIX}max-scale`]];
  if (naturalString(min) && naturalString(max) && Number(max) !== 0 && Number(min) > Number(max)) out.push({ path: at, message: `min-scale ${String(min)} exceeds max-scale ${String(max)}` });
  return out;
}

/** Problems with a Destination (`{ref, uri}`): a relative uri, an incomplete ref, or one naming no document in the manifests. */
function destinationProblems(dest: unknown, at: string, namespace: string, docs: readonly Manifest[], what: string): Finding[] {
  const d = rec(dest);
  const ref = rec(d?.ref);
  if (!d || (!ref && typeof d.uri !== 'string')) return [{ path: at, message: `${what} needs a ref or a uri` }];
  if (!ref) return /^https?:\/\//.test(String(d.uri)) ? [] : [{ path: `${at}.uri`, message: 'a uri without a ref must be absolute (http:// or https://)' }];
  return refProblems(ref, `${at}.ref`, namespace, docs, what);
}

function refProblems(ref: Record<string, unknown>, at: string, namespace: string, docs: readonly Manifest[], what: string): Finding[] {
  const [apiVersion, kind, name] = [str(ref.apiVersion), str(ref.kind), str(ref.name)];
  if (!apiVersion || !kind || !name) return [{ path: at, message: `${what} ref needs apiVersion, kind and name` }];
  const ns = str(ref.namespace) ?? namespace;
  return findDoc(docs, groupOf(ref), kind, name, ns) ? [] : [{ path: at, message: `${what} ${kind} ${ns}/${name} (${apiVersion}) is not in the manifests` }];
}

// ---------------------------------------------------------------------------
// validateDocuments

export interface ValidateOptions {
  /** Folder with `knative/jsonschema-strict/`; defaults to the shared schemas beside the repository. */
  schemasDir?: string;
}

/**
 * Everything a cluster would reject in `docs`, found offline: the strict
 * upstream schemas for Knative kinds, the Knative model's problems (its
 * `noop` ones too: settings Knative would silently ignore), and the rules
 * and references neither covers.
 */
export function validateDocuments(input: readonly unknown[], options: ValidateOptions = {}): Problem[] {
  const docs = input.filter(isRecord);
  const problems: Problem[] = input.flatMap((doc, i) => (isRecord(doc) ? [] : [{ rule: 'identity', resource: `document ${i + 1}`, path: '', message: 'a document must be a mapping' }]));
  problems.push(...readModel(docs, { defaultNamespace: 'ordersaga' }).problems.map(({ noop: _, ...p }) => p));
  const schemas = loadSchemas(options.schemasDir ?? sharedSchemasDir());
  for (const doc of docs) {
    const resource = describe(doc);
    const report = (rule: string, list: Finding[]) => problems.push(...list.map((p) => ({ rule, resource, ...p })));
    const { group, version } = groupVersion(str(doc.apiVersion) ?? '');
    if (group.endsWith('knative.dev')) {
      const validate = schemas.get(`${group}/${version}/${str(doc.kind)?.toLowerCase()}`);
      if (!validate) report('schema', [{ path: '', message: `no schema for ${str(doc.apiVersion)} ${str(doc.kind)} in the shared schemas` }]);
      else if (!validate(doc)) problems.push(...schemaProblems(resource, validate.errors, 'schema'));
    }
    const namespace = namespaceOf(doc);
    const spec = rec(doc.spec) ?? {};
    for (const annotation of Object.keys(rec(dig(doc, 'metadata', 'annotations')) ?? {}).filter((a) => a.startsWith(AUTOSCALING_PREFIX))) {
      const message = `${annotation} on the ${str(doc.kind)}'s own metadata is rejected by the webhook; autoscaling annotations go on spec.template.metadata.annotations`;
      report('autoscaling', [{ path: `metadata.annotations.${annotation}`, message }]);
    }
    if (isKind(doc, 'eventing.knative.dev', 'Trigger')) {
      if (rec(spec.brokerRef)) report('reference', refProblems({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', ...rec(spec.brokerRef) }, 'spec.brokerRef', namespace, docs, 'brokerRef'));
      if (spec.subscriber !== undefined) report('reference', destinationProblems(spec.subscriber, 'spec.subscriber', namespace, docs, 'subscriber'));
    }
    const deadLetterSink = dig(spec, 'delivery', 'deadLetterSink');
    if (deadLetterSink !== undefined) report('reference', destinationProblems(deadLetterSink, 'spec.delivery.deadLetterSink', namespace, docs, 'deadLetterSink'));
    if (isKnativeService(doc)) {
      report('serving', servingProblems(doc));
      report('autoscaling', autoscalingProblems(rec(dig(doc, 'spec', 'template', 'metadata', 'annotations')) ?? {}, 'spec.template.metadata.annotations'));
    }
    report('reference', envReferenceProblems(doc, namespace, docs));
    if (isKind(doc, 'sources.knative.dev', 'SinkBinding') || isKind(doc, 'sources.knative.dev', 'PingSource')) {
      report('reference', destinationProblems(spec.sink, 'spec.sink', namespace, docs, 'sink'));
    }
    if (isKind(doc, 'sources.knative.dev', 'SinkBinding')) report('reference', subjectProblems(spec.subject, namespace, docs));
    if (isKind(doc, 'eventing.knative.dev', 'EventPolicy')) {
      arr(spec.to).forEach((to, i) => rec(dig(to, 'ref')) && report('reference', refProblems(rec(dig(to, 'ref'))!, `spec.to[${i}].ref`, namespace, docs, 'to')));
      arr(spec.from).forEach((from, i) => rec(dig(from, 'ref')) && report('reference', refProblems(rec(dig(from, 'ref'))!, `spec.from[${i}].ref`, namespace, docs, 'from')));
      arr(spec.from).forEach((from, i) => report('reference', serviceAccountSubjectProblems(str(dig(from, 'sub')), `spec.from[${i}].sub`, docs)));
    }
    if (isKind(doc, 'networking.k8s.io', 'Ingress')) report('ingress', ingressProblems(doc, namespace, docs));
    if (isKind(doc, '', 'ConfigMap') || isKind(doc, '', 'Secret')) report('config', configProblems(doc));
  }
  return problems;
}

/** Knative Serving's webhook rules for a Service's Revision template. */
function servingProblems(doc: Manifest): Finding[] {
  const out: Finding[] = [];
  const name = nameOf(doc);
  if (name.length > 63 || !DNS1035_LABEL.test(name)) out.push({ path: 'metadata.name', message: `a Knative Service name must be a DNS-1035 label (≤ 63, starts with a letter): "${name}"` });
  const at = 'spec.template.spec';
  const spec = rec(dig(doc, 'spec', 'template', 'spec'));
  if (!spec) return [...out, { path: at, message: 'a Knative Service needs spec.template.spec' }];
  if (spec.containerConcurrency !== undefined && !integerIn(spec.containerConcurrency, 0, MAX_CONTAINER_CONCURRENCY)) {
    out.push({ path: `${at}.containerConcurrency`, message: `containerConcurrency must be an integer 0..${MAX_CONTAINER_CONCURRENCY} (0 = unlimited)` });
  }
  if (spec.timeoutSeconds !== undefined && !integerIn(spec.timeoutSeconds, 1, MAX_TIMEOUT_SECONDS)) {
    out.push({ path: `${at}.timeoutSeconds`, message: `timeoutSeconds must be an integer 1..${MAX_TIMEOUT_SECONDS} (Knative's default ceiling)` });
  }
  const containers = arr(spec.containers);
  if (containers.length === 0) out.push({ path: `${at}.containers`, message: 'a Knative Service needs a container' });
  if (containers.filter((c) => arr(dig(c, 'ports')).length > 0).length > 1) out.push({ path: `${at}.containers`, message: 'only one container may expose a port' });
  containers.forEach((c, i) => {
    const cat = `${at}.containers[${i}]`;
    const ports = arr(dig(c, 'ports'));
    if (ports.length > 1) out.push({ path: `${cat}.ports`, message: 'a Knative container exposes at most one port' });
    const [portName, containerPort] = [str(dig(ports[0], 'name')), dig(ports[0], 'containerPort')];
    if (portName !== undefined && portName !== 'http1' && portName !== 'h2c') {
      out.push({ path: `${cat}.ports[0].name`, message: `the port name tells Knative the protocol: http1 or h2c, not "${portName}"` });
    }
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      for (const handler of ['httpGet', 'tcpSocket', 'grpc']) {
        const p = dig(c, probe, handler, 'port');
        if (p !== undefined && p !== containerPort && p !== portName) {
          out.push({ path: `${cat}.${probe}.${handler}.port`, message: `a Knative probe omits the port or uses the container port (${String(containerPort ?? 8080)}), not ${JSON.stringify(p)}` });
        }
      }
    }
    const names = arr(dig(c, 'env')).map((e) => str(dig(e, 'name')));
    for (const n of new Set(names.filter((n, j) => n !== undefined && names.indexOf(n) !== j))) out.push({ path: `${cat}.env`, message: `env ${n} is declared more than once` });
  });
  return out;
}

/** Every ConfigMap/Secret an env var (or envFrom) of a pod template in `doc` names, checked against the manifests. */
function envReferenceProblems(doc: Manifest, namespace: string, docs: readonly Manifest[]): Finding[] {
  const templated = isKnativeService(doc) || isKind(doc, 'apps', 'Deployment') || isKind(doc, 'apps', 'StatefulSet') || isKind(doc, 'batch', 'Job');
  const out: Finding[] = [];
  for (const list of templated ? ['initContainers', 'containers'] : []) {
    arr(dig(doc, 'spec', 'template', 'spec', list)).forEach((container, c) => {
      const at = `spec.template.spec.${list}[${c}]`;
      const refs = [
        ...arr(dig(container, 'env')).flatMap((env, i) => (['configMapKeyRef', 'secretKeyRef'] as const).map((f) => ({ f, ref: rec(dig(env, 'valueFrom', f)), path: `${at}.env[${i}].valueFrom.${f}` }))),
        ...arr(dig(container, 'envFrom')).flatMap((from, i) => (['configMapRef', 'secretRef'] as const).map((f) => ({ f, ref: rec(dig(from, f)), path: `${at}.envFrom[${i}].${f}` }))),
      ];
      for (const { f, ref, path: where } of refs) {
        if (!ref || ref.optional === true) continue;
        const kind = f.startsWith('configMap') ? 'ConfigMap' : 'Secret';
        const source = findDoc(docs, '', kind, str(ref.name) ?? '', namespace);
        const keys = new Set(['data', 'stringData', 'binaryData'].flatMap((field) => Object.keys(rec(source?.[field]) ?? {})));
        if (!source) out.push({ path: where, message: `${kind} ${namespace}/${str(ref.name)} is not in the manifests` });
        else if (ref.key !== undefined && !keys.has(str(ref.key) ?? '')) out.push({ path: where, message: `${kind} ${namespace}/${str(ref.name)} has no key "${str(ref.key)}"` });
      }
    });
  }
  return out;
}

/** A `sub` naming one ServiceAccount (no `*`) of a namespace these manifests fill must name one they declare. */
function serviceAccountSubjectProblems(sub: string | undefined, at: string, docs: readonly Manifest[]): Finding[] {
  const [, namespace, name] = /^system:serviceaccount:([^:*]+):([^:*]+)$/.exec(sub ?? '') ?? [];
  if (!namespace || !name || !docs.some((d) => namespaceOf(d, '') === namespace) || findDoc(docs, '', 'ServiceAccount', name, namespace)) return [];
  return [{ path: at, message: `ServiceAccount ${namespace}/${name} is not in the manifests` }];
}

function subjectProblems(subject: unknown, namespace: string, docs: readonly Manifest[]): Finding[] {
  const s = rec(subject);
  if (!s || !str(s.apiVersion) || !str(s.kind)) return [{ path: 'spec.subject', message: 'a SinkBinding needs a subject with apiVersion and kind' }];
  const selector = rec(s.selector);
  if ((s.name === undefined) === (selector === undefined)) return [{ path: 'spec.subject', message: 'subject takes a name or a selector, exactly one' }];
  if (selector && arr(selector.matchExpressions).length === 0 && Object.keys(rec(selector.matchLabels) ?? {}).length === 0) {
    return [{ path: 'spec.subject.selector', message: 'an empty selector would bind every resource of the kind' }];
  }
  if (subjectMatches(s, docs, namespace).length > 0) return [];
  return [{ path: selector ? 'spec.subject.selector' : 'spec.subject.name', message: `no ${str(s.kind)} in ${str(s.namespace) ?? namespace} matches the subject` }];
}

const REGEX_CHARS = /[\^$()[\]|*+?{}\\]/;

function ingressProblems(doc: Manifest, namespace: string, docs: readonly Manifest[]): Finding[] {
  const out: Finding[] = [];
  const annotations = rec(dig(doc, 'metadata', 'annotations')) ?? {};
  if (!str(dig(doc, 'spec', 'ingressClassName'))) out.push({ path: 'spec.ingressClassName', message: 'name the Ingress class (ingressClassName)' });
  const backends = new Set<string>();
  const knativeService = (name: string) => findDoc(docs, 'serving.knative.dev', 'Service', name, namespace);
  arr(dig(doc, 'spec', 'rules')).forEach((rule, r) => {
    arr(dig(rule, 'http', 'paths')).forEach((p, i) => {
      const at = `spec.rules[${r}].http.paths[${i}]`;
      const [pathValue, pathType, service] = [str(dig(p, 'path')) ?? '', str(dig(p, 'pathType')), str(dig(p, 'backend', 'service', 'name'))];
      if (!['Exact', 'Prefix', 'ImplementationSpecific'].includes(pathType ?? '')) out.push({ path: `${at}.pathType`, message: 'pathType must be Exact, Prefix or ImplementationSpecific' });
      if (REGEX_CHARS.test(pathValue)) {
        if (annotations['nginx.ingress.kubernetes.io/use-regex'] !== 'true') out.push({ path: `${at}.path`, message: 'a regex path needs nginx.ingress.kubernetes.io/use-regex: "true"' });
        if (pathType !== 'ImplementationSpecific') out.push({ path: `${at}.pathType`, message: 'a regex path needs pathType ImplementationSpecific' });
        try {
          new RegExp(pathValue);
        } catch (err) {
          out.push({ path: `${at}.path`, message: `not a regular expression: ${(err as Error).message}` });
        }
      } else if (!pathValue.startsWith('/')) out.push({ path: `${at}.path`, message: 'a path starts with /' });
      if (!service) return out.push({ path: `${at}.backend.service.name`, message: 'the backend must name a Service' });
      backends.add(service);
      if (!findDoc(docs, '', 'Service', service, namespace) && !knativeService(service)) out.push({ path: `${at}.backend.service.name`, message: `Service ${namespace}/${service} is not in the manifests` });
      if (dig(p, 'backend', 'service', 'port', 'number') === undefined && dig(p, 'backend', 'service', 'port', 'name') === undefined) {
        out.push({ path: `${at}.backend.service.port`, message: 'the backend needs a port number or name' });
      }
    });
  });
  // Knative's gateway routes by Host: a wrong upstream-vhost reaches the wrong function.
  const vhost = str(annotations['nginx.ingress.kubernetes.io/upstream-vhost']);
  const knative = [...backends].filter(knativeService);
  if (vhost !== undefined && backends.size > 1 && knative.length > 0) {
    out.push({ path: 'metadata.annotations', message: 'upstream-vhost applies to every path; Knative Services behind one Ingress must be one Service' });
  } else if (vhost !== undefined && knative.length === 1 && vhost !== `${knative[0]}.${namespace}.svc.cluster.local`) {
    out.push({ path: 'metadata.annotations.nginx.ingress.kubernetes.io/upstream-vhost', message: `upstream-vhost ${vhost} does not name the backend; expected ${knative[0]}.${namespace}.svc.cluster.local` });
  }
  return out;
}

function configProblems(doc: Manifest): Finding[] {
  const secret = isKind(doc, '', 'Secret');
  return (secret ? ['data', 'stringData'] : ['data']).flatMap((field) =>
    Object.entries(rec(doc[field]) ?? {}).flatMap(([key, value]): Finding[] => {
      if (typeof value !== 'string') return [{ path: `${field}.${key}`, message: `values are strings; quote ${JSON.stringify(value)}` }];
      return field === 'data' && secret && !/^[A-Za-z0-9+/]*={0,2}$/.test(value) ? [{ path: `${field}.${key}`, message: 'Secret data is base64; use stringData for plain text' }] : [];
    }),
  );
}

// ---------------------------------------------------------------------------
// skaffold.yaml

/**
 * skaffold.yaml against the schema of its own apiVersion (draft-07, in
 * `<schemas>/skaffold/<version>.json`), plus that the kustomize folders and
 * Dockerfiles it names exist under `repoRoot`.
 */
export function validateSkaffold(text: string, options: { repoRoot?: string; schemasDir?: string } = {}): Problem[] {
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const { docs, problems } = parseManifests(text, 'skaffold.yaml');
  const push = (resource: string, where: string, message: string) => problems.push({ rule: 'skaffold', resource, path: where, message });
  if (docs.length === 0 && problems.length === 0) push('skaffold.yaml', '', 'no configuration');
  const ajv = createSchemaAjv();
  for (const doc of docs) {
    const name = nameOf(doc) || 'skaffold.yaml';
    const m = /^skaffold\/(v[0-9a-z]+)$/.exec(str(doc.apiVersion) ?? '');
    const schemaFile = m ? path.join(options.schemasDir ?? sharedSchemasDir(), 'skaffold', `${m[1]}.json`) : undefined;
    if (!schemaFile || !existsSync(schemaFile)) {
      push(name, 'apiVersion', `no skaffold schema for apiVersion ${JSON.stringify(doc.apiVersion)}`);
      continue;
    }
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>);
    if (!validate(doc)) problems.push(...schemaProblems(name, validate.errors, 'skaffold'));
    if (doc.kind !== 'Config') push(name, 'kind', 'kind is Config');
    for (const [at, config] of [['', doc] as const, ...arr(doc.profiles).map((p, i) => [`profiles[${i}].`, p] as const)]) {
      arr(dig(config, 'manifests', 'kustomize', 'paths')).forEach((p, i) => {
        const dir = typeof p === 'string' ? path.resolve(repoRoot, p) : '';
        const ok = dir !== '' && existsSync(dir) && statSync(dir).isDirectory() && ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(path.join(dir, f)));
        if (!ok) push(name, `${at}manifests.kustomize.paths[${i}]`, `${String(p)} is not a kustomize folder in the repository`);
      });
      arr(dig(config, 'build', 'artifacts')).forEach((a, i) => {
        const dockerfile = str(dig(a, 'docker', 'dockerfile'));
        if (dockerfile !== undefined && !existsSync(path.resolve(repoRoot, str(dig(a, 'context')) ?? '.', dockerfile))) push(name, `${at}build.artifacts[${i}].docker.dockerfile`, `${dockerfile} does not exist`);
      });
    }
  }
  return problems;
}

/** Problems as one readable block, for test failures and CLI output. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `[${p.rule}] ${p.resource}${p.path ? ` ${p.path}` : ''}: ${p.message}`).join('\n');
}

export { checkConventions, connectionBudget, type ConnectionUse } from './conventions.js';
