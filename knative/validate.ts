/**
 * Offline validation of the Knative manifests and skaffold.yaml, for
 * machines with no API server: what `kubectl apply` with strict field
 * validation and the Knative webhooks would reject, checked before a
 * cluster ever sees it.
 *
 * - {@link validateDocuments}: the upstream JSON Schemas (strict variants,
 *   where an unknown field is an error) for every Knative kind, plus the
 *   rules those schemas cannot express (the shared schemas' README):
 *   Trigger spec keys, filter dialects, delivery values, where autoscaling
 *   annotations go, and that every reference resolves within the manifests.
 * - {@link checkConventions}: ordersaga's own rules for a Service, a
 *   Trigger and the database connection budget.
 * - {@link validateSkaffold}: skaffold.yaml against its schema, and the
 *   folders and files it names.
 *
 * Every check reports {@link Problem}s; none throws on bad input.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

/** One thing wrong with one document. */
export interface Problem {
  /** Which rule found it, so tests and readers can tell schema errors from broken references. */
  rule: Rule;
  /** `Kind namespace/name` of the document (or the file, for a document that does not parse). */
  resource: string;
  /** Where in the document, dotted (`spec.template.spec.containers[0]`); empty for the whole document. */
  path: string;
  message: string;
}

export type Rule =
  | 'parse'
  | 'identity'
  | 'duplicate'
  | 'schema'
  | 'trigger-spec'
  | 'filter'
  | 'delivery'
  | 'autoscaling'
  | 'serving'
  | 'reference'
  | 'pingsource'
  | 'ingress'
  | 'config'
  | 'convention'
  | 'budget'
  | 'skaffold';

/** A parsed Kubernetes document; shapes are checked, not assumed. */
export type Manifest = Record<string, unknown>;

/** The repository root: this file lives in `<root>/knative/`. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The shared schemas, cloned beside the repository (`<root>/../shared/schemas`). */
export function sharedSchemasDir(repoRoot: string = REPO_ROOT): string {
  return path.resolve(repoRoot, '..', 'shared', 'schemas');
}

// ---------------------------------------------------------------------------
// Reading and rendering

/** Parses every YAML document in `text`; empty documents are dropped, syntax errors become problems. */
export function parseManifests(text: string, source: string): { docs: Manifest[]; problems: Problem[] } {
  const docs: Manifest[] = [];
  const problems: Problem[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) problems.push({ rule: 'parse', resource: source, path: '', message: error.message });
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) {
      problems.push({ rule: 'parse', resource: source, path: '', message: 'a document is not a mapping' });
      continue;
    }
    docs.push(value);
  }
  return { docs, problems };
}

/**
 * Every document of the `.yaml`/`.yml` files directly in `dir`, except
 * kustomization files: the folder read the way the local stand-in reads
 * `knative/base/`.
 */
export function loadDirectory(dir: string): { docs: Manifest[]; problems: Problem[]; files: string[] } {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
    .sort();
  const docs: Manifest[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const parsed = parseManifests(readFileSync(path.join(dir, file), 'utf8'), file);
    docs.push(...parsed.docs);
    problems.push(...parsed.problems);
  }
  return { docs, problems, files };
}

/** Whether `kubectl` can be run here. */
export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <dir>`, parsed. Throws when kubectl fails (its stderr is in the message). */
export function renderKustomize(dir: string): { docs: Manifest[]; problems: Problem[] } {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr.trim() || (err as Error).message}`);
  }
  return parseManifests(out, `kustomize ${dir}`);
}

// ---------------------------------------------------------------------------
// Small helpers over untyped documents

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rec(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `obj.a.b.c` (a numeric key indexes a list), or undefined when any step is missing. */
export function dig(obj: unknown, ...keys: string[]): unknown {
  let cur: unknown = obj;
  for (const key of keys) {
    if (Array.isArray(cur) && /^\d+$/.test(key)) cur = cur[Number(key)];
    else if (isRecord(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

/** `group/version` split; the core group is ''. */
export function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export const kindOf = (doc: Manifest): string => str(doc.kind) ?? '';
export const nameOf = (doc: Manifest): string => str(dig(doc, 'metadata', 'name')) ?? '';
export const namespaceOf = (doc: Manifest, fallback = 'ordersaga'): string => str(dig(doc, 'metadata', 'namespace')) ?? fallback;
const groupOf = (doc: Manifest): string => groupVersion(str(doc.apiVersion) ?? '').group;

function describe(doc: Manifest): string {
  const ns = str(dig(doc, 'metadata', 'namespace'));
  return `${kindOf(doc) || '<no kind>'} ${ns ? `${ns}/` : ''}${nameOf(doc) || '<no name>'}`;
}

/** Whether `doc` is `kind` of the API group `group` (any version). */
export function isKind(doc: Manifest, group: string, kind: string): boolean {
  return kindOf(doc) === kind && groupOf(doc) === group;
}

export const isKnativeService = (doc: Manifest): boolean => isKind(doc, 'serving.knative.dev', 'Service');

// ---------------------------------------------------------------------------
// Schemas

const SCHEMA_KEYWORDS = [
  'x-kubernetes-group-version-kind',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  // skaffold's schema: editor hints.
  'x-intellij-html-description',
  'preferredOrder',
];

const INT32 = 2 ** 31;

/**
 * A strict ajv for the shared schemas. They are draft-07 (`$schema`
 * http://json-schema.org/draft-07/schema#), ajv's default dialect; their
 * extension keywords are declared so strict mode still rejects anything
 * else, and the Kubernetes integer formats are checked by range.
 */
function createSchemaAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  ajv.addVocabulary(SCHEMA_KEYWORDS);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

/** The compiled schema of each Knative kind, keyed `group/version/Kind`. */
export interface SchemaSet {
  dir: string;
  knative: Map<string, ValidateFunction>;
}

const schemaSets = new Map<string, SchemaSet>();

/** Compiles every schema of `<dir>/knative/jsonschema-strict/` once per directory. */
export function loadSchemas(dir: string = sharedSchemasDir()): SchemaSet {
  const cached = schemaSets.get(dir);
  if (cached) return cached;
  const ajv = createSchemaAjv();
  const knative = new Map<string, ValidateFunction>();
  const folder = path.join(dir, 'knative', 'jsonschema-strict');
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
    const schema = JSON.parse(readFileSync(path.join(folder, file), 'utf8')) as Record<string, unknown>;
    const gvks = arr(schema['x-kubernetes-group-version-kind']);
    const validate = ajv.compile(schema);
    for (const gvk of gvks) {
      const g = rec(gvk);
      if (g) knative.set(`${str(g.group)}/${str(g.version)}/${str(g.kind)}`, validate);
    }
  }
  const set = { dir, knative };
  schemaSets.set(dir, set);
  return set;
}

/** ajv's instancePath (`/spec/containers/0`) as a dotted path (`spec.containers[0]`). */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function schemaProblems(resource: string, errors: ErrorObject[] | null | undefined, rule: Rule): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors ?? []) {
    let where = dotted(e.instancePath);
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const field = String((e.params as { additionalProperty?: unknown }).additionalProperty);
      where = where ? `${where}.${field}` : field;
      message = `unknown field "${field}"`;
    } else if (e.keyword === 'enum') {
      message = `${message}: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`;
    }
    const key = `${where}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ rule, resource, path: where, message });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Value rules

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** CloudEvents attribute names as Knative accepts them in filters. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

const ISO_DURATION =
  /^([-+])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/**
 * An ISO-8601 duration (`PT0.5S`, `PT1M30S`, `P1D`) in seconds, or
 * undefined when it is not one. Years and months count as 365 and 30 days,
 * which is all a delivery setting needs.
 */
export function isoDurationSeconds(value: string): number | undefined {
  const m = ISO_DURATION.exec(value);
  if (!m) return undefined;
  const parts = m.slice(2);
  if (parts.every((p) => p === undefined)) return undefined;
  if (value.includes('T') && parts.slice(4).every((p) => p === undefined)) return undefined;
  const weights = [365 * 86_400, 30 * 86_400, 7 * 86_400, 86_400, 3600, 60, 1];
  const seconds = parts.reduce((sum, p, i) => sum + (p === undefined ? 0 : Number(p.replace(',', '.')) * weights[i]!), 0);
  return m[1] === '-' ? -seconds : seconds;
}

const DELIVERY_KEYS = new Set(['deadLetterSink', 'retry', 'timeout', 'backoffPolicy', 'backoffDelay', 'retryAfterMax', 'format']);

/** Knative's DeliverySpec rules (eventing `pkg/apis/duck/v1/delivery_types.go`), plus "policy and delay come together". */
export function deliveryProblems(delivery: unknown, at: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const d = rec(delivery);
  if (!d) return delivery === undefined ? out : [{ path: at, message: 'delivery must be a mapping' }];
  for (const key of Object.keys(d)) {
    if (!DELIVERY_KEYS.has(key)) out.push({ path: `${at}.${key}`, message: `unknown delivery field "${key}"` });
  }
  if (d.retry !== undefined && !(Number.isInteger(d.retry) && (d.retry as number) >= 0)) {
    out.push({ path: `${at}.retry`, message: `retry must be an integer ≥ 0, not ${JSON.stringify(d.retry)}` });
  }
  if (d.backoffPolicy !== undefined && d.backoffPolicy !== 'linear' && d.backoffPolicy !== 'exponential') {
    out.push({ path: `${at}.backoffPolicy`, message: `backoffPolicy must be linear or exponential, not ${JSON.stringify(d.backoffPolicy)}` });
  }
  if (d.backoffDelay !== undefined) {
    const seconds = typeof d.backoffDelay === 'string' ? isoDurationSeconds(d.backoffDelay) : undefined;
    if (seconds === undefined || seconds < 0) {
      out.push({ path: `${at}.backoffDelay`, message: `backoffDelay must be a non-negative ISO-8601 duration such as PT0.5S, not ${JSON.stringify(d.backoffDelay)}` });
    }
  }
  if (d.timeout !== undefined) {
    const seconds = typeof d.timeout === 'string' ? isoDurationSeconds(d.timeout) : undefined;
    if (seconds === undefined || seconds <= 0) {
      out.push({ path: `${at}.timeout`, message: `timeout must be a positive ISO-8601 duration such as PT10S, not ${JSON.stringify(d.timeout)}` });
    }
  }
  if (d.retryAfterMax !== undefined) {
    out.push({ path: `${at}.retryAfterMax`, message: 'retryAfterMax is behind the alpha feature delivery-retryafter, off by default; the webhook rejects it' });
  }
  if (d.format !== undefined && d.format !== 'json' && d.format !== 'binary') {
    out.push({ path: `${at}.format`, message: `format must be json or binary, not ${JSON.stringify(d.format)}` });
  }
  // Knative backs off only when both are set; one without the other is a silent no-op.
  if ((d.backoffPolicy === undefined) !== (d.backoffDelay === undefined)) {
    out.push({ path: at, message: 'backoffPolicy and backoffDelay take effect only together; set both or neither' });
  }
  return out;
}

const FILTER_DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

/** One `filters` entry (the SubscriptionsAPI dialects), recursively. */
export function filterEntryProblems(entry: unknown, at: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const f = rec(entry);
  if (!f) return [{ path: at, message: 'a filter must be a mapping' }];
  const dialects = Object.keys(f).filter((k) => (FILTER_DIALECTS as readonly string[]).includes(k));
  for (const key of Object.keys(f)) {
    if (!(FILTER_DIALECTS as readonly string[]).includes(key)) out.push({ path: `${at}.${key}`, message: `unknown filter dialect "${key}"` });
  }
  if (dialects.length !== 1) {
    out.push({ path: at, message: `a filter uses exactly one dialect of ${FILTER_DIALECTS.join(', ')}; found ${dialects.length === 0 ? 'none' : dialects.join(', ')}` });
  }
  for (const dialect of ['exact', 'prefix', 'suffix'] as const) {
    if (f[dialect] === undefined) continue;
    const map = rec(f[dialect]);
    const entries = map ? Object.entries(map) : [];
    if (!map || entries.length !== 1) {
      out.push({ path: `${at}.${dialect}`, message: `${dialect} takes exactly one attribute: value pair` });
    }
    for (const [key, value] of entries) {
      if (!ATTRIBUTE_NAME.test(key)) out.push({ path: `${at}.${dialect}.${key}`, message: `attribute name "${key}" must match ${ATTRIBUTE_NAME}` });
      if (typeof value !== 'string' || value === '') out.push({ path: `${at}.${dialect}.${key}`, message: `${dialect} value must be a non-empty string` });
    }
  }
  for (const dialect of ['all', 'any'] as const) {
    if (f[dialect] === undefined) continue;
    const list = f[dialect];
    if (!Array.isArray(list) || list.length === 0) {
      out.push({ path: `${at}.${dialect}`, message: `${dialect} must list at least one filter` });
      continue;
    }
    list.forEach((nested, i) => out.push(...filterEntryProblems(nested, `${at}.${dialect}[${i}]`)));
  }
  if (f.not !== undefined) out.push(...filterEntryProblems(f.not, `${at}.not`));
  if (f.cesql !== undefined && (typeof f.cesql !== 'string' || f.cesql.trim() === '')) {
    out.push({ path: `${at}.cesql`, message: 'cesql must be a non-empty expression' });
  }
  return out;
}

const TRIGGER_SPEC_KEYS = new Set(['broker', 'brokerRef', 'filter', 'filters', 'subscriber', 'delivery']);

const AUTOSCALING_PREFIX = 'autoscaling.knative.dev/';
const AUTOSCALING_KEYS = new Set([
  'class',
  'metric',
  'target',
  'target-utilization-percentage',
  'target-burst-capacity',
  'min-scale',
  'max-scale',
  'initial-scale',
  'activation-scale',
  'scale-down-delay',
  'scale-to-zero-pod-retention-period',
  'window',
  'panic-window-percentage',
  'panic-threshold-percentage',
  // Older spellings Knative still accepts.
  'minScale',
  'maxScale',
  'initialScale',
]);
const AUTOSCALING_CLASSES = new Set(['kpa.autoscaling.knative.dev', 'hpa.autoscaling.knative.dev']);
const AUTOSCALING_METRICS = new Set(['concurrency', 'rps', 'cpu', 'memory']);

/** Knative's default ceilings (config-defaults: container-concurrency-max-limit, max-revision-timeout-seconds). */
const MAX_CONTAINER_CONCURRENCY = 1000;
const MAX_TIMEOUT_SECONDS = 600;

function nonNegativeIntegerString(value: unknown): boolean {
  return typeof value === 'string' && /^\d+$/.test(value);
}

function autoscalingProblems(annotations: Record<string, unknown>, at: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(AUTOSCALING_PREFIX)) continue;
    const name = key.slice(AUTOSCALING_PREFIX.length);
    const where = `${at}.${key}`;
    if (!AUTOSCALING_KEYS.has(name)) {
      out.push({ path: where, message: `unknown autoscaling annotation "${key}"` });
      continue;
    }
    if (typeof value !== 'string') {
      out.push({ path: where, message: 'annotation values are strings (quote the number)' });
      continue;
    }
    if (['min-scale', 'max-scale', 'initial-scale', 'activation-scale', 'minScale', 'maxScale', 'initialScale'].includes(name) && !nonNegativeIntegerString(value)) {
      out.push({ path: where, message: `${name} must be a non-negative integer, not ${JSON.stringify(value)}` });
    }
    if (['target', 'target-utilization-percentage', 'panic-window-percentage', 'panic-threshold-percentage'].includes(name) && !(Number(value) > 0)) {
      out.push({ path: where, message: `${name} must be a positive number, not ${JSON.stringify(value)}` });
    }
    if (name === 'metric' && !AUTOSCALING_METRICS.has(value)) {
      out.push({ path: where, message: `metric must be one of ${[...AUTOSCALING_METRICS].join(', ')}` });
    }
    if (name === 'class' && !AUTOSCALING_CLASSES.has(value)) {
      out.push({ path: where, message: `class must be one of ${[...AUTOSCALING_CLASSES].join(', ')}` });
    }
  }
  const min = annotations[`${AUTOSCALING_PREFIX}min-scale`];
  const max = annotations[`${AUTOSCALING_PREFIX}max-scale`];
  if (nonNegativeIntegerString(min) && nonNegativeIntegerString(max) && Number(max) !== 0 && Number(min) > Number(max)) {
    out.push({ path: at, message: `min-scale ${String(min)} exceeds max-scale ${String(max)}` });
  }
  return out;
}

const CRON_RANGES: readonly [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** A standard five-field cron expression (or a robfig/cron descriptor such as @hourly), as PingSource accepts. */
export function cronProblem(schedule: string): string | undefined {
  const spec = schedule.replace(/^(CRON_)?TZ=\S+\s+/, '').trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(spec)) return undefined;
  if (/^@every\s+\S+$/.test(spec)) return undefined;
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) return `a schedule has 5 fields (minute hour day month weekday), found ${fields.length}`;
  for (const [i, field] of fields.entries()) {
    const [lo, hi] = CRON_RANGES[i]!;
    for (const part of field.split(',')) {
      const m = /^(\*|\?|(\d+)(?:-(\d+))?|[A-Za-z]{3}(?:-[A-Za-z]{3})?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `field ${i + 1} ("${field}") is not a cron field`;
      for (const n of [m[2], m[3]]) {
        if (n !== undefined && (Number(n) < lo || Number(n) > hi)) return `field ${i + 1} value ${n} is outside ${lo}-${hi}`;
      }
      if (m[4] !== undefined && Number(m[4]) === 0) return `field ${i + 1} has a step of 0`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// References

/** The documents, indexed for reference lookups. */
class Index {
  private readonly byKey = new Map<string, Manifest>();
  constructor(readonly docs: readonly Manifest[]) {
    for (const doc of docs) this.byKey.set(Index.key(groupOf(doc), kindOf(doc), namespaceOf(doc), nameOf(doc)), doc);
  }
  static key(group: string, kind: string, namespace: string, name: string): string {
    return `${group}|${kind}|${namespace}|${name}`;
  }
  find(group: string, kind: string, namespace: string, name: string): Manifest | undefined {
    return this.byKey.get(Index.key(group, kind, namespace, name));
  }
  /** A Kubernetes Service named `name`: a core Service, or the one Knative creates for its Service. */
  serviceNamed(namespace: string, name: string): Manifest | undefined {
    return this.find('', 'Service', namespace, name) ?? this.find('serving.knative.dev', 'Service', namespace, name);
  }
}

/** Problems with a Destination (`{ref, uri}`), including whether its ref names a document in the manifests. */
function destinationProblems(dest: unknown, at: string, namespace: string, index: Index, what: string): { path: string; message: string }[] {
  const d = rec(dest);
  if (!d) return [{ path: at, message: `${what} must be a mapping with ref or uri` }];
  const out: { path: string; message: string }[] = [];
  const ref = rec(d.ref);
  if (!ref && typeof d.uri !== 'string') out.push({ path: at, message: `${what} needs a ref or a uri` });
  if (d.ref !== undefined && !ref) out.push({ path: `${at}.ref`, message: 'ref must be a mapping' });
  if (typeof d.uri === 'string' && !ref && !/^https?:\/\//.test(d.uri)) {
    out.push({ path: `${at}.uri`, message: 'a uri without a ref must be absolute (http:// or https://)' });
  }
  if (ref) {
    const apiVersion = str(ref.apiVersion);
    const kind = str(ref.kind);
    const name = str(ref.name);
    for (const [field, value] of [['apiVersion', apiVersion], ['kind', kind], ['name', name]] as const) {
      if (!value) out.push({ path: `${at}.ref.${field}`, message: `${what} ref needs ${field}` });
    }
    if (apiVersion && kind && name) {
      const refNs = str(ref.namespace) ?? namespace;
      if (!index.find(groupVersion(apiVersion).group, kind, refNs, name)) {
        out.push({ path: `${at}.ref`, message: `${what} ${kind} ${refNs}/${name} (${apiVersion}) is not in the manifests` });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// validateDocuments

export interface ValidateOptions {
  /** Folder with `knative/jsonschema-strict/`; defaults to the shared schemas beside the repository. */
  schemasDir?: string;
}

/**
 * Everything a cluster would reject in `docs`, found offline: the strict
 * upstream schemas for Knative kinds, the webhook rules they cannot
 * express, and references that do not resolve within `docs`.
 */
export function validateDocuments(docs: readonly unknown[], options: ValidateOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const manifests: Manifest[] = [];
  docs.forEach((doc, i) => {
    if (isRecord(doc)) manifests.push(doc);
    else problems.push({ rule: 'identity', resource: `document ${i + 1}`, path: '', message: 'a document must be a mapping' });
  });
  const schemas = loadSchemas(options.schemasDir ?? sharedSchemasDir());
  const index = new Index(manifests);
  const seen = new Map<string, number>();

  for (const doc of manifests) {
    const resource = describe(doc);
    const report = (rule: Rule, list: { path: string; message: string }[]) => {
      for (const p of list) problems.push({ rule, resource, ...p });
    };

    // Identity
    const apiVersion = str(doc.apiVersion);
    const kind = str(doc.kind);
    const name = str(dig(doc, 'metadata', 'name'));
    if (!apiVersion) report('identity', [{ path: 'apiVersion', message: 'apiVersion is required' }]);
    if (!kind) report('identity', [{ path: 'kind', message: 'kind is required' }]);
    if (!name) report('identity', [{ path: 'metadata.name', message: 'metadata.name is required' }]);
    else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
      report('identity', [{ path: 'metadata.name', message: `"${name}" is not a valid Kubernetes name (lowercase DNS-1123)` }]);
    } else if (isKnativeService(doc) && (name.length > 63 || !DNS1035_LABEL.test(name))) {
      report('identity', [{ path: 'metadata.name', message: `a Knative Service name must be a DNS-1035 label (≤ 63, starts with a letter): "${name}"` }]);
    }
    if (!apiVersion || !kind || !name) continue;
    const key = Index.key(groupOf(doc), kind, namespaceOf(doc), name);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (seen.get(key) === 2) report('duplicate', [{ path: '', message: 'declared more than once' }]);

    // Upstream schema, for every Knative kind.
    const { group, version } = groupVersion(apiVersion);
    if (group.endsWith('knative.dev')) {
      const validate = schemas.knative.get(`${group}/${version}/${kind}`);
      if (!validate) report('schema', [{ path: '', message: `no schema for ${apiVersion} ${kind} in the shared schemas` }]);
      else if (!validate(doc)) problems.push(...schemaProblems(resource, validate.errors, 'schema'));
    }

    const namespace = namespaceOf(doc);
    const spec = rec(doc.spec) ?? {};

    // Autoscaling annotations belong to the Revision template, on any kind.
    const ownAnnotations = rec(dig(doc, 'metadata', 'annotations')) ?? {};
    for (const annotation of Object.keys(ownAnnotations)) {
      if (annotation.startsWith(AUTOSCALING_PREFIX)) {
        report('autoscaling', [{
          path: `metadata.annotations.${annotation}`,
          message: `${annotation} on the ${kind}'s own metadata is rejected by the webhook; autoscaling annotations go on spec.template.metadata.annotations`,
        }]);
      }
    }

    if (isKind(doc, 'eventing.knative.dev', 'Trigger')) {
      for (const k of Object.keys(spec)) {
        if (!TRIGGER_SPEC_KEYS.has(k)) report('trigger-spec', [{ path: `spec.${k}`, message: `unknown Trigger spec field "${k}" (allowed: ${[...TRIGGER_SPEC_KEYS].join(', ')})` }]);
      }
      const broker = str(spec.broker);
      const brokerRef = rec(spec.brokerRef);
      if (!broker && !brokerRef) report('trigger-spec', [{ path: 'spec.broker', message: 'a Trigger needs spec.broker' }]);
      if (broker && !index.find('eventing.knative.dev', 'Broker', namespace, broker)) {
        report('reference', [{ path: 'spec.broker', message: `Broker ${namespace}/${broker} is not in the manifests` }]);
      }
      if (brokerRef) report('reference', destinationProblems({ ref: brokerRef }, 'spec.brokerRef', namespace, index, 'brokerRef'));
      const filter = spec.filter;
      if (filter !== undefined) {
        const attributes = dig(filter, 'attributes');
        if (attributes !== undefined && !isRecord(attributes)) report('filter', [{ path: 'spec.filter.attributes', message: 'attributes must be a mapping' }]);
        for (const [attr, value] of Object.entries(rec(attributes) ?? {})) {
          if (!ATTRIBUTE_NAME.test(attr)) {
            report('filter', [{ path: `spec.filter.attributes.${attr}`, message: `attribute name "${attr}" must match ${ATTRIBUTE_NAME} (lowercase letters and digits)` }]);
          }
          if (typeof value !== 'string') report('filter', [{ path: `spec.filter.attributes.${attr}`, message: 'attribute values are strings' }]);
        }
      }
      if (spec.filters !== undefined) {
        if (!Array.isArray(spec.filters)) report('filter', [{ path: 'spec.filters', message: 'filters must be a list' }]);
        else spec.filters.forEach((entry, i) => report('filter', filterEntryProblems(entry, `spec.filters[${i}]`)));
      }
      if (spec.subscriber === undefined) report('trigger-spec', [{ path: 'spec.subscriber', message: 'a Trigger needs a subscriber' }]);
      else report('reference', destinationProblems(spec.subscriber, 'spec.subscriber', namespace, index, 'subscriber'));
    }

    // Delivery, wherever a kind carries one.
    if (spec.delivery !== undefined) {
      report('delivery', deliveryProblems(spec.delivery, 'spec.delivery'));
      const dls = dig(spec.delivery, 'deadLetterSink');
      if (dls !== undefined) report('reference', destinationProblems(dls, 'spec.delivery.deadLetterSink', namespace, index, 'deadLetterSink'));
    }

    if (isKnativeService(doc)) {
      report('serving', [...servingProblems(doc)]);
      const annotations = rec(dig(doc, 'spec', 'template', 'metadata', 'annotations')) ?? {};
      report('autoscaling', autoscalingProblems(annotations, 'spec.template.metadata.annotations'));
    }
    for (const ref of envReferences(doc)) {
      const source = index.find('', ref.kind, namespace, ref.name);
      const keys = source ? dataKeys(source) : undefined;
      if (!source) {
        if (!ref.optional) report('reference', [{ path: ref.path, message: `${ref.kind} ${namespace}/${ref.name} is not in the manifests` }]);
      } else if (!keys?.has(ref.key) && !ref.optional) {
        report('reference', [{ path: ref.path, message: `${ref.kind} ${namespace}/${ref.name} has no key "${ref.key}"` }]);
      }
    }

    if (isKind(doc, 'sources.knative.dev', 'SinkBinding')) {
      report('reference', destinationProblems(spec.sink, 'spec.sink', namespace, index, 'sink'));
      report('reference', subjectProblems(spec.subject, namespace, index));
    }

    if (isKind(doc, 'sources.knative.dev', 'PingSource')) {
      report('reference', destinationProblems(spec.sink, 'spec.sink', namespace, index, 'sink'));
      const schedule = str(spec.schedule);
      const cron = schedule === undefined ? 'schedule is required' : cronProblem(schedule);
      if (cron) report('pingsource', [{ path: 'spec.schedule', message: cron }]);
      if (spec.data !== undefined && spec.dataBase64 !== undefined) {
        report('pingsource', [{ path: 'spec', message: 'data and dataBase64 are mutually exclusive' }]);
      }
      const contentType = str(spec.contentType) ?? '';
      if (typeof spec.data === 'string' && /json/.test(contentType)) {
        try {
          JSON.parse(spec.data);
        } catch {
          report('pingsource', [{ path: 'spec.data', message: `contentType is ${contentType} but data is not JSON` }]);
        }
      }
    }

    if (isKind(doc, 'networking.k8s.io', 'Ingress')) report('ingress', ingressProblems(doc, namespace, index));

    if (isKind(doc, '', 'ConfigMap') || isKind(doc, '', 'Secret')) report('config', configProblems(doc));
  }
  return problems;
}

function* servingProblems(doc: Manifest): Generator<{ path: string; message: string }> {
  const spec = rec(dig(doc, 'spec', 'template', 'spec'));
  if (!spec) {
    yield { path: 'spec.template.spec', message: 'a Knative Service needs spec.template.spec' };
    return;
  }
  const at = 'spec.template.spec';
  const cc = spec.containerConcurrency;
  if (cc !== undefined && !(Number.isInteger(cc) && (cc as number) >= 0 && (cc as number) <= MAX_CONTAINER_CONCURRENCY)) {
    yield { path: `${at}.containerConcurrency`, message: `containerConcurrency must be an integer 0..${MAX_CONTAINER_CONCURRENCY} (0 = unlimited)` };
  }
  const timeout = spec.timeoutSeconds;
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) > 0 && (timeout as number) <= MAX_TIMEOUT_SECONDS)) {
    yield { path: `${at}.timeoutSeconds`, message: `timeoutSeconds must be an integer 1..${MAX_TIMEOUT_SECONDS} (Knative's default ceiling)` };
  }
  const containers = arr(spec.containers);
  if (containers.length === 0) yield { path: `${at}.containers`, message: 'a Knative Service needs a container' };
  const withPorts = containers.filter((c) => arr(dig(c, 'ports')).length > 0);
  if (withPorts.length > 1) yield { path: `${at}.containers`, message: 'only one container may expose a port' };
  for (const [i, c] of containers.entries()) {
    const cat = `${at}.containers[${i}]`;
    const ports = arr(dig(c, 'ports'));
    if (ports.length > 1) yield { path: `${cat}.ports`, message: 'a Knative container exposes at most one port' };
    const port = rec(ports[0]);
    const portName = str(port?.name);
    if (portName !== undefined && portName !== 'http1' && portName !== 'h2c') {
      yield { path: `${cat}.ports[0].name`, message: `the port name tells Knative the protocol: http1 or h2c, not "${portName}"` };
    }
    const containerPort = port?.containerPort;
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      for (const handler of ['httpGet', 'tcpSocket', 'grpc']) {
        const p = dig(c, probe, handler, 'port');
        if (p !== undefined && p !== containerPort && !(typeof p === 'string' && p === portName)) {
          yield { path: `${cat}.${probe}.${handler}.port`, message: `a Knative probe omits the port or uses the container port (${String(containerPort ?? 8080)}), not ${JSON.stringify(p)}` };
        }
      }
    }
    const names = arr(dig(c, 'env')).map((e) => str(dig(e, 'name')));
    const dupes = names.filter((n, j) => n !== undefined && names.indexOf(n) !== j);
    for (const n of new Set(dupes)) yield { path: `${cat}.env`, message: `env ${n} is declared more than once` };
  }
}

interface EnvReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  key: string;
  optional: boolean;
  path: string;
}

/** Every container (and init container) of a pod template in `doc`. */
function containersOf(doc: Manifest): { container: unknown; at: string }[] {
  const specs: { spec: unknown; at: string }[] = [];
  if (isKnativeService(doc) || isKind(doc, 'apps', 'Deployment') || isKind(doc, 'apps', 'StatefulSet') || isKind(doc, 'batch', 'Job')) {
    specs.push({ spec: dig(doc, 'spec', 'template', 'spec'), at: 'spec.template.spec' });
  }
  const out: { container: unknown; at: string }[] = [];
  for (const { spec, at } of specs) {
    for (const list of ['initContainers', 'containers']) {
      arr(dig(spec, list)).forEach((container, i) => out.push({ container, at: `${at}.${list}[${i}]` }));
    }
  }
  return out;
}

function envReferences(doc: Manifest): EnvReference[] {
  const refs: EnvReference[] = [];
  for (const { container, at } of containersOf(doc)) {
    arr(dig(container, 'env')).forEach((env, i) => {
      for (const [field, kind] of [['configMapKeyRef', 'ConfigMap'], ['secretKeyRef', 'Secret']] as const) {
        const ref = rec(dig(env, 'valueFrom', field));
        if (!ref) continue;
        refs.push({ kind, name: str(ref.name) ?? '', key: str(ref.key) ?? '', optional: ref.optional === true, path: `${at}.env[${i}].valueFrom.${field}` });
      }
    });
    arr(dig(container, 'envFrom')).forEach((from, i) => {
      for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
        const ref = rec(dig(from, field));
        if (!ref) continue;
        // Whole-object references have no key; an empty key is never looked up.
        refs.push({ kind, name: str(ref.name) ?? '', key: '', optional: ref.optional === true, path: `${at}.envFrom[${i}].${field}` });
      }
    });
  }
  return refs;
}

function dataKeys(doc: Manifest): Set<string> {
  const keys = new Set<string>(['']);
  for (const field of ['data', 'stringData', 'binaryData']) for (const k of Object.keys(rec(doc[field]) ?? {})) keys.add(k);
  return keys;
}

function subjectProblems(subject: unknown, namespace: string, index: Index): { path: string; message: string }[] {
  const s = rec(subject);
  if (!s) return [{ path: 'spec.subject', message: 'a SinkBinding needs a subject' }];
  const apiVersion = str(s.apiVersion);
  const kind = str(s.kind);
  if (!apiVersion || !kind) return [{ path: 'spec.subject', message: 'subject needs apiVersion and kind' }];
  const ns = str(s.namespace) ?? namespace;
  const group = groupVersion(apiVersion).group;
  const name = str(s.name);
  const selector = rec(s.selector);
  if ((name === undefined) === (selector === undefined)) return [{ path: 'spec.subject', message: 'subject takes a name or a selector, exactly one' }];
  if (name !== undefined) {
    return index.find(group, kind, ns, name) ? [] : [{ path: 'spec.subject.name', message: `${kind} ${ns}/${name} is not in the manifests` }];
  }
  const matchLabels = rec(selector?.matchLabels) ?? {};
  if (arr(selector?.matchExpressions).length === 0 && Object.keys(matchLabels).length === 0) {
    return [{ path: 'spec.subject.selector', message: 'an empty selector would bind every resource of the kind' }];
  }
  const matches = subjectMatches(s, index.docs, namespace);
  return matches.length > 0 ? [] : [{ path: 'spec.subject.selector', message: `no ${kind} in ${ns} matches the selector` }];
}

/** The documents a SinkBinding subject selects (by name, or by matchLabels on their own labels). */
export function subjectMatches(subject: Record<string, unknown>, docs: readonly Manifest[], namespace = 'ordersaga'): Manifest[] {
  const group = groupVersion(str(subject.apiVersion) ?? '').group;
  const kind = str(subject.kind) ?? '';
  const ns = str(subject.namespace) ?? namespace;
  const name = str(subject.name);
  const matchLabels = rec(dig(subject, 'selector', 'matchLabels')) ?? {};
  return docs.filter((d) => {
    if (!isKind(d, group, kind) || namespaceOf(d) !== ns) return false;
    if (name !== undefined) return nameOf(d) === name;
    const labels = rec(dig(d, 'metadata', 'labels')) ?? {};
    return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
  });
}

const REGEX_CHARS = /[\^$()[\]|*+?{}\\]/;

function ingressProblems(doc: Manifest, namespace: string, index: Index): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const annotations = rec(dig(doc, 'metadata', 'annotations')) ?? {};
  const useRegex = annotations['nginx.ingress.kubernetes.io/use-regex'] === 'true';
  if (!str(dig(doc, 'spec', 'ingressClassName'))) out.push({ path: 'spec.ingressClassName', message: 'name the Ingress class (ingressClassName)' });
  const backends = new Set<string>();
  arr(dig(doc, 'spec', 'rules')).forEach((rule, r) => {
    arr(dig(rule, 'http', 'paths')).forEach((p, i) => {
      const at = `spec.rules[${r}].http.paths[${i}]`;
      const pathValue = str(dig(p, 'path')) ?? '';
      const pathType = str(dig(p, 'pathType'));
      if (!pathType || !['Exact', 'Prefix', 'ImplementationSpecific'].includes(pathType)) {
        out.push({ path: `${at}.pathType`, message: 'pathType must be Exact, Prefix or ImplementationSpecific' });
      }
      if (REGEX_CHARS.test(pathValue)) {
        if (!useRegex) out.push({ path: `${at}.path`, message: 'a regex path needs nginx.ingress.kubernetes.io/use-regex: "true"' });
        if (pathType !== 'ImplementationSpecific') out.push({ path: `${at}.pathType`, message: 'a regex path needs pathType ImplementationSpecific' });
        try {
          new RegExp(pathValue);
        } catch (err) {
          out.push({ path: `${at}.path`, message: `not a regular expression: ${(err as Error).message}` });
        }
      } else if (!pathValue.startsWith('/')) {
        out.push({ path: `${at}.path`, message: 'a path starts with /' });
      }
      const service = str(dig(p, 'backend', 'service', 'name'));
      if (!service) {
        out.push({ path: `${at}.backend.service.name`, message: 'the backend must name a Service' });
        return;
      }
      backends.add(service);
      if (!index.serviceNamed(namespace, service)) {
        out.push({ path: `${at}.backend.service.name`, message: `Service ${namespace}/${service} is not in the manifests` });
      }
      const port = dig(p, 'backend', 'service', 'port');
      if (dig(port, 'number') === undefined && dig(port, 'name') === undefined) {
        out.push({ path: `${at}.backend.service.port`, message: 'the backend needs a port number or name' });
      }
    });
  });
  // Knative's gateway routes by Host: a wrong upstream-vhost reaches the wrong function.
  const vhost = str(annotations['nginx.ingress.kubernetes.io/upstream-vhost']);
  if (vhost !== undefined) {
    const knativeBackends = [...backends].filter((b) => index.find('serving.knative.dev', 'Service', namespace, b));
    if (backends.size > 1 && knativeBackends.length > 0) {
      out.push({ path: 'metadata.annotations', message: 'upstream-vhost applies to every path; Knative Services behind one Ingress must be one Service' });
    } else if (knativeBackends.length === 1 && vhost !== `${knativeBackends[0]}.${namespace}.svc.cluster.local`) {
      out.push({
        path: 'metadata.annotations.nginx.ingress.kubernetes.io/upstream-vhost',
        message: `upstream-vhost ${vhost} does not name the backend; expected ${knativeBackends[0]}.${namespace}.svc.cluster.local`,
      });
    }
  }
  return out;
}

function configProblems(doc: Manifest): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const fields = isKind(doc, '', 'Secret') ? ['data', 'stringData'] : ['data'];
  for (const field of fields) {
    for (const [key, value] of Object.entries(rec(doc[field]) ?? {})) {
      if (typeof value !== 'string') out.push({ path: `${field}.${key}`, message: `values are strings; quote ${JSON.stringify(value)}` });
      else if (field === 'data' && isKind(doc, '', 'Secret') && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
        out.push({ path: `${field}.${key}`, message: 'Secret data is base64; use stringData for plain text' });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Conventions

/** The label that makes the SinkBinding give a Service K_SINK. */
export const EMITS_LABEL = 'ordersaga.dev/emits';
/** Annotations on the ConfigMap holding DB_POOL_MAX that declare the PostgreSQL connection budget. */
export const BUDGET_MAX_ANNOTATION = 'ordersaga.dev/postgres-max-connections';
export const BUDGET_RESERVED_ANNOTATION = 'ordersaga.dev/postgres-reserved-connections';

const REQUIRED_AUTOSCALING = ['min-scale', 'max-scale', 'target', 'metric'];

/**
 * ordersaga's own rules, beyond what a cluster enforces: each Service is
 * tuned, probed, bounded and locked down; each Trigger states its whole
 * delivery with a dead-letter sink; nothing sets K_SINK by hand; and the
 * functions' connection pools fit the PostgreSQL they share.
 */
export function checkConventions(docs: readonly Manifest[]): Problem[] {
  const problems: Problem[] = [];
  const push = (doc: Manifest, rule: Rule, path: string, message: string) => problems.push({ rule, resource: describe(doc), path, message });

  for (const doc of docs) {
    if (isKind(doc, '', 'Namespace')) continue;
    if (namespaceOf(doc, '') !== 'ordersaga') push(doc, 'convention', 'metadata.namespace', 'every ordersaga resource lives in namespace ordersaga');
  }

  for (const doc of docs.filter((d) => isKind(d, 'eventing.knative.dev', 'Trigger'))) {
    const delivery = rec(dig(doc, 'spec', 'delivery'));
    if (!delivery) {
      push(doc, 'convention', 'spec.delivery', "a Trigger states its own delivery (it replaces the Broker's whole)");
      continue;
    }
    for (const field of ['retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'deadLetterSink']) {
      if (delivery[field] === undefined) push(doc, 'convention', `spec.delivery.${field}`, `a Trigger's delivery sets ${field}`);
    }
  }

  for (const doc of docs.filter(isKnativeService)) {
    const annotations = rec(dig(doc, 'spec', 'template', 'metadata', 'annotations')) ?? {};
    for (const a of REQUIRED_AUTOSCALING) {
      if (annotations[AUTOSCALING_PREFIX + a] === undefined) push(doc, 'convention', `spec.template.metadata.annotations.${AUTOSCALING_PREFIX}${a}`, `set ${AUTOSCALING_PREFIX}${a}`);
    }
    const spec = rec(dig(doc, 'spec', 'template', 'spec')) ?? {};
    for (const field of ['containerConcurrency', 'timeoutSeconds']) {
      if (spec[field] === undefined) push(doc, 'convention', `spec.template.spec.${field}`, `set ${field}`);
    }
    const containers = arr(spec.containers);
    if (containers.length !== 1) push(doc, 'convention', 'spec.template.spec.containers', 'one container per function');
    const c = containers[0];
    const at = 'spec.template.spec.containers[0]';
    if (!/(^|\/)ordersaga([:@]|$)/.test(str(dig(c, 'image')) ?? '')) {
      push(doc, 'convention', `${at}.image`, 'every function runs the one ordersaga image');
    }
    const port = rec(arr(dig(c, 'ports'))[0]);
    if (port?.containerPort !== 8080 || port.name !== 'http1') push(doc, 'convention', `${at}.ports`, 'expose containerPort 8080 named http1');
    if (dig(c, 'readinessProbe', 'httpGet', 'path') !== '/readyz') push(doc, 'convention', `${at}.readinessProbe`, 'readiness is httpGet /readyz');
    if (dig(c, 'livenessProbe', 'httpGet', 'path') !== '/healthz') push(doc, 'convention', `${at}.livenessProbe`, 'liveness is httpGet /healthz');
    for (const bound of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (dig(c, 'resources', bound, resource) === undefined) push(doc, 'convention', `${at}.resources.${bound}.${resource}`, `set resources.${bound}.${resource}`);
      }
    }
    const sc = rec(dig(c, 'securityContext')) ?? {};
    if (sc.runAsNonRoot !== true) push(doc, 'convention', `${at}.securityContext.runAsNonRoot`, 'run as non-root');
    if (sc.allowPrivilegeEscalation !== false) push(doc, 'convention', `${at}.securityContext.allowPrivilegeEscalation`, 'forbid privilege escalation');
    if (sc.readOnlyRootFilesystem !== true) push(doc, 'convention', `${at}.securityContext.readOnlyRootFilesystem`, 'use a read-only root filesystem');
    if (!arr(dig(sc, 'capabilities', 'drop')).includes('ALL')) push(doc, 'convention', `${at}.securityContext.capabilities.drop`, 'drop ALL capabilities');
    if (dig(sc, 'seccompProfile', 'type') !== 'RuntimeDefault') push(doc, 'convention', `${at}.securityContext.seccompProfile`, 'use the RuntimeDefault seccomp profile');
    const env = arr(dig(c, 'env'));
    const envNamed = (n: string) => env.find((e) => dig(e, 'name') === n);
    if (envNamed('K_SINK')) push(doc, 'convention', `${at}.env`, 'K_SINK comes from the SinkBinding, never from the Service');
    if (!str(dig(envNamed('FUNCTION_TARGET'), 'value'))) push(doc, 'convention', `${at}.env`, 'FUNCTION_TARGET picks the function');
    if (dig(envNamed('NODE_ENV'), 'value') !== 'production') push(doc, 'convention', `${at}.env`, 'NODE_ENV is production');
  }

  problems.push(...budgetProblems(docs));
  return problems;
}

/** Each Service's share of PostgreSQL connections: max-scale × its DB_POOL_MAX. */
export interface ConnectionUse {
  service: string;
  maxScale: number;
  pool: number;
}

/** The connection budget declared on a ConfigMap, and what the Services would use at full scale. */
export function connectionBudget(docs: readonly Manifest[]): { max: number; reserved: number; uses: ConnectionUse[]; configMap: Manifest } | undefined {
  const configMap = docs.find((d) => isKind(d, '', 'ConfigMap') && dig(d, 'metadata', 'annotations', BUDGET_MAX_ANNOTATION) !== undefined);
  if (!configMap) return undefined;
  const max = Number(dig(configMap, 'metadata', 'annotations', BUDGET_MAX_ANNOTATION));
  const reserved = Number(dig(configMap, 'metadata', 'annotations', BUDGET_RESERVED_ANNOTATION) ?? 0);
  const data = rec(configMap.data) ?? {};
  const uses: ConnectionUse[] = [];
  for (const doc of docs.filter(isKnativeService)) {
    const maxScale = Number(dig(doc, 'spec', 'template', 'metadata', 'annotations', `${AUTOSCALING_PREFIX}max-scale`));
    const env = arr(dig(doc, 'spec', 'template', 'spec', 'containers', '0', 'env'));
    const poolVar = env.find((e) => dig(e, 'name') === 'DB_POOL_MAX');
    if (!poolVar) continue;
    const literal = dig(poolVar, 'value');
    const ref = rec(dig(poolVar, 'valueFrom', 'configMapKeyRef'));
    const raw = literal ?? (ref && ref.name === nameOf(configMap) ? data[str(ref.key) ?? ''] : undefined);
    uses.push({ service: nameOf(doc), maxScale, pool: Number(raw) });
  }
  return { max, reserved, uses, configMap };
}

function budgetProblems(docs: readonly Manifest[]): Problem[] {
  const budget = connectionBudget(docs);
  if (!budget) return [];
  const resource = describe(budget.configMap);
  const out: Problem[] = [];
  if (!(budget.max > 0) || !(budget.reserved >= 0) || budget.reserved >= budget.max) {
    return [{ rule: 'budget', resource, path: 'metadata.annotations', message: 'the connection budget annotations must be numbers with reserved < max' }];
  }
  for (const use of budget.uses) {
    if (!(Number.isInteger(use.maxScale) && use.maxScale > 0)) {
      out.push({ rule: 'budget', resource, path: '', message: `Service ${use.service} has no finite max-scale, so its connections are unbounded` });
    }
    if (!(Number.isInteger(use.pool) && use.pool > 0)) out.push({ rule: 'budget', resource, path: '', message: `Service ${use.service} has no DB_POOL_MAX the budget can read` });
  }
  if (out.length > 0) return out;
  const total = budget.uses.reduce((sum, u) => sum + u.maxScale * u.pool, 0);
  const available = budget.max - budget.reserved;
  if (total > available) {
    const terms = budget.uses.map((u) => `${u.service} ${u.maxScale}×${u.pool}`).join(' + ');
    out.push({ rule: 'budget', resource, path: 'data.DB_POOL_MAX', message: `at full scale the functions open ${total} connections (${terms}), over the ${available} available (${budget.max} − ${budget.reserved} reserved)` });
  }
  return out;
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
  if (docs.length === 0 && problems.length === 0) problems.push({ rule: 'skaffold', resource: 'skaffold.yaml', path: '', message: 'no configuration' });
  const ajv = createSchemaAjv();
  for (const doc of docs) {
    const name = str(dig(doc, 'metadata', 'name')) ?? 'skaffold.yaml';
    const apiVersion = str(doc.apiVersion) ?? '';
    const m = /^skaffold\/(v[0-9a-z]+)$/.exec(apiVersion);
    const schemaFile = m ? path.join(options.schemasDir ?? sharedSchemasDir(), 'skaffold', `${m[1]}.json`) : undefined;
    if (!schemaFile || !existsSync(schemaFile)) {
      problems.push({ rule: 'skaffold', resource: name, path: 'apiVersion', message: `no skaffold schema for apiVersion ${JSON.stringify(apiVersion)}` });
      continue;
    }
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>);
    if (!validate(doc)) problems.push(...schemaProblems(name, validate.errors, 'skaffold'));
    if (doc.kind !== 'Config') problems.push({ rule: 'skaffold', resource: name, path: 'kind', message: 'kind is Config' });

    const configs: { at: string; config: unknown }[] = [{ at: '', config: doc }];
    arr(doc.profiles).forEach((p, i) => configs.push({ at: `profiles[${i}].`, config: p }));
    for (const { at, config } of configs) {
      arr(dig(config, 'manifests', 'kustomize', 'paths')).forEach((p, i) => {
        const dir = typeof p === 'string' ? path.resolve(repoRoot, p) : '';
        const ok = dir !== '' && existsSync(dir) && statSync(dir).isDirectory() && ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(path.join(dir, f)));
        if (!ok) problems.push({ rule: 'skaffold', resource: name, path: `${at}manifests.kustomize.paths[${i}]`, message: `${String(p)} is not a kustomize folder in the repository` });
      });
      arr(dig(config, 'build', 'artifacts')).forEach((a, i) => {
        const context = str(dig(a, 'context')) ?? '.';
        const dockerfile = str(dig(a, 'docker', 'dockerfile'));
        if (dockerfile !== undefined && !existsSync(path.resolve(repoRoot, context, dockerfile))) {
          problems.push({ rule: 'skaffold', resource: name, path: `${at}build.artifacts[${i}].docker.dockerfile`, message: `${dockerfile} does not exist` });
        }
      });
    }
  }
  return problems;
}

/** Problems as one readable block, for test failures and CLI output. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `[${p.rule}] ${p.resource}${p.path ? ` ${p.path}` : ''}: ${p.message}`).join('\n');
}
