/**
 * The console's kustomize component, as both overlays render it: one
 * instance, every event delivered to it by a catch-all Trigger that never
 * parks a copy with dead-letters, served at /console; and not in base/,
 * which the stand-in runs as function processes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dig, isKind, loadDirectory, nameOf, type Manifest } from './model/index.js';
import { kubectlAvailable, renderKustomize } from './testing.js';
import { formatProblems, REPO_ROOT } from './validate.js';

const KUBECTL = kubectlAvailable();

function named(docs: Manifest[], group: string, kind: string, name: string): Manifest {
  const doc = docs.find((d) => isKind(d, group, kind) && nameOf(d) === name);
  if (!doc) throw new Error(`${kind} ${name} is not in the manifests`);
  return doc;
}

describe.skipIf(!KUBECTL)(`the console component${KUBECTL ? '' : ' (skipped: kubectl is not on PATH, so kustomize cannot render)'}`, () => {
  it.each(['knative/overlays/dev', 'knative/overlays/prod'])('%s: one console instance, every event delivered to it, served at /console', (target) => {
    const { docs, problems } = renderKustomize(path.join(REPO_ROOT, target));
    expect(problems, formatProblems(problems)).toEqual([]);
    const service = named(docs, 'serving.knative.dev', 'Service', 'console');
    const env = dig(service, 'spec', 'template', 'spec', 'containers', '0', 'env') as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'FUNCTION_TARGET')?.value).toBe('console');
    // Its feed is in memory: a second instance would hold another part of it.
    expect(dig(service, 'spec', 'template', 'metadata', 'annotations', 'autoscaling.knative.dev/max-scale')).toBe('1');
    const observers = docs.filter((d) => isKind(d, 'eventing.knative.dev', 'Trigger') && dig(d, 'metadata', 'labels', 'ordersaga.dev/observer') === 'true');
    expect(observers.map(nameOf)).toEqual(['console-on-everything']);
    const trigger = observers[0]!;
    expect(dig(trigger, 'spec', 'filter')).toBeUndefined();
    expect(dig(trigger, 'spec', 'filters')).toBeUndefined();
    expect(dig(trigger, 'spec', 'subscriber', 'ref', 'name')).toBe('console');
    // A missed copy is no saga's loss: never parked with dead-letters.
    expect(dig(trigger, 'spec', 'delivery', 'deadLetterSink', 'ref', 'name')).toBe('console');
    const ingress = named(docs, 'networking.k8s.io', 'Ingress', 'console');
    expect(dig(ingress, 'spec', 'rules', '0', 'http', 'paths', '0', 'path')).toBe('^/console(/.*)?$');
    expect(dig(ingress, 'metadata', 'annotations', 'nginx.ingress.kubernetes.io/proxy-buffering')).toBe('off');
  });
});

describe('knative/base', () => {
  it('has no console, which the stand-in serves in its own process', () => {
    const docs = loadDirectory(path.join(REPO_ROOT, 'knative', 'base')).docs;
    expect(docs.filter((d) => nameOf(d).startsWith('console'))).toEqual([]);
  });
});
