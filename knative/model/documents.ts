/**
 * Kubernetes documents as both the stand-in and the validator read them:
 * one YAML loader, the small accessors over untyped documents, and the lookup
 * that reference checks find names with.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A parsed Kubernetes document; shapes are checked, not assumed. */
export type Manifest = Record<string, unknown>;

/** One thing wrong with one document. */
export interface Problem {
  /** Which rule found it, so tests and readers can tell schema errors from broken references. */
  rule: string;
  /** `Kind namespace/name` of the document (or the file, for a document that does not parse). */
  resource: string;
  /** Where in the document, dotted (`spec.filters[0].exact`); empty for the whole document. */
  path: string;
  message: string;
}

/** A problem found inside one document, before it is tied to the document. */
export type Finding = Pick<Problem, 'path' | 'message'>;

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const rec = (value: unknown): Record<string, unknown> | undefined => (isRecord(value) ? value : undefined);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
export const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

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
export const namespaceOf = (doc: Manifest, fallback = 'ordersaga'): string => str(dig(doc, 'metadata', 'namespace')) || fallback;
/** The API group of a document or a reference (its `apiVersion`'s). */
export const groupOf = (doc: { apiVersion?: unknown }): string => groupVersion(str(doc.apiVersion) ?? '').group;

/** Whether `doc` is `kind` of the API group `group` (any version). */
export const isKind = (doc: Manifest, group: string, kind: string): boolean => kindOf(doc) === kind && groupOf(doc) === group;
export const isKnativeService = (doc: Manifest): boolean => isKind(doc, 'serving.knative.dev', 'Service');

/** `Kind namespace/name`, as problems name a document. */
export function describe(doc: Manifest): string {
  const ns = str(dig(doc, 'metadata', 'namespace'));
  return `${kindOf(doc) || '<no kind>'} ${ns ? `${ns}/` : ''}${nameOf(doc) || '<no name>'}`;
}

/** Every YAML document in `text`; empty documents are dropped, syntax errors become problems. */
export function parseManifests(text: string, source: string): { docs: Manifest[]; problems: Problem[] } {
  const docs: Manifest[] = [];
  const problems: Problem[] = [];
  for (const doc of parseAllDocuments(text)) {
    const value: unknown = doc.errors.length > 0 ? undefined : doc.toJS();
    for (const error of doc.errors) problems.push({ rule: 'parse', resource: source, path: '', message: error.message });
    if (isRecord(value)) docs.push(value);
    else if (value !== null && value !== undefined) problems.push({ rule: 'parse', resource: source, path: '', message: 'a document is not a mapping' });
  }
  return { docs, problems };
}

/** Every document of the `.yaml`/`.yml` files directly in `dir`, kustomization files excepted (what the stand-in runs). */
export function loadDirectory(dir: string): { docs: Manifest[]; problems: Problem[]; files: string[] } {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
    .sort();
  const parsed = files.map((file) => parseManifests(readFileSync(path.join(dir, file), 'utf8'), file));
  return { docs: parsed.flatMap((p) => p.docs), problems: parsed.flatMap((p) => p.problems), files };
}

/** The document of `kind` in `group` named `name`, in `namespace` when one is given. */
export function findDoc(docs: readonly Manifest[], group: string, kind: string, name: string, namespace?: string) {
  const inNamespace = (d: Manifest) => namespace === undefined || namespaceOf(d) === namespace;
  return docs.find((d) => isKind(d, group, kind) && nameOf(d) === name && inNamespace(d));
}

/** The documents a `subject` (SinkBinding) selects: by name, or by matchLabels on their own labels. */
export function subjectMatches(subject: Record<string, unknown>, docs: readonly Manifest[], namespace = 'ordersaga'): Manifest[] {
  const group = groupOf(subject);
  const ns = str(subject.namespace) ?? namespace;
  const name = str(subject.name);
  const matchLabels = rec(dig(subject, 'selector', 'matchLabels')) ?? {};
  return docs.filter((d) => {
    if (!isKind(d, group, str(subject.kind) ?? '') || namespaceOf(d) !== ns) return false;
    if (name !== undefined) return nameOf(d) === name;
    const labels = rec(dig(d, 'metadata', 'labels')) ?? {};
    return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
  });
}
