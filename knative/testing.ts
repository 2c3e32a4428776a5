/**
 * Helpers of the manifest tests: kubectl kustomize renders, a sample of the
 * documents to mutate, and lookups over them.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { dig, findDoc, isKind, isKnativeService, loadDirectory, parseManifests } from './model/index.js';
import { checkConventions, formatProblems, REPO_ROOT, validateDocuments, type Manifest, type Problem } from './validate.js';

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
  try {
    return parseManifests(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }), `kustomize ${dir}`);
  } catch (err) {
    throw new Error(`kubectl kustomize ${dir} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

export const KUBECTL = kubectlAvailable();
export const NO_KUBECTL = 'skipped: kubectl is not on PATH, so kustomize cannot render';
export const TARGETS = ['knative/base', 'knative/overlays/dev', 'knative/overlays/prod'];
export const BASE_DIR = path.join(REPO_ROOT, 'knative', 'base');

const rendered = new Map<string, Manifest[]>();
export function render(target: string): Manifest[] {
  if (!rendered.has(target)) {
    const out = renderKustomize(path.join(REPO_ROOT, target));
    expect(out.problems, formatProblems(out.problems)).toEqual([]);
    rendered.set(target, out.docs);
  }
  return rendered.get(target)!;
}

/**
 * The dev render when kubectl is here, else what it is made of, by hand: knative/base and the console and
 * sender-authentication components, with the one patch of the latter (the functions told the feature is on).
 * Either way the mutation tests run.
 */
export function sampleDocs(): Manifest[] {
  return KUBECTL ? structuredClone(render('knative/overlays/dev')) : devByHand();
}

/** What the dev overlay is made of, put together without kustomize. */
export function devByHand(): Manifest[] {
  const docs = ['base', 'components/console', 'components/oidc'].flatMap((dir) => loadDirectory(path.join(REPO_ROOT, 'knative', dir)).docs);
  (findDoc(docs, '', 'ConfigMap', 'ordersaga-oidc')!.data as Record<string, string>).AUTHENTICATION_OIDC = 'enabled';
  return docs;
}

export const allProblems = (docs: Manifest[]): Problem[] => [...validateDocuments(docs), ...checkConventions(docs)];

export const byKind = (docs: Manifest[], group: string, kind: string) => docs.filter((d) => isKind(d, group, kind));
export const services = (docs: Manifest[]) => docs.filter(isKnativeService);
export const triggers = (docs: Manifest[]) => byKind(docs, 'eventing.knative.dev', 'Trigger');

export function named(docs: Manifest[], group: string, kind: string, name: string): Manifest {
  const doc = findDoc(docs, group, kind, name);
  if (!doc) throw new Error(`${kind} ${name} is not in the manifests`);
  return doc;
}

export function containerOf(service: Manifest): Record<string, unknown> {
  return dig(service, 'spec', 'template', 'spec', 'containers', '0') as Record<string, unknown>;
}

export function envOf(service: Manifest): Map<string, Record<string, unknown>> {
  const env = (containerOf(service).env ?? []) as Record<string, unknown>[];
  return new Map(env.map((e) => [String(e.name), e]));
}
