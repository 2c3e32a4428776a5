/**
 * Knative's `authentication-oidc` rules, for the stand-in that enforces them
 * and the validator that checks the manifests against them:
 *
 * - an Addressable's audience, `<group>/<kind>/<namespace>/<name>` in lower
 *   case (eventing `pkg/auth/audience.go`); a Knative Service announces none,
 *   so a Destination that points at one states its `audience`;
 * - the ServiceAccount Knative creates for a Trigger or a source to send as
 *   (`pkg/auth/serviceaccount.go`, named by knative.dev/pkg `kmeta.ChildName`);
 * - which EventPolicies apply to a resource, and whether a token's subject
 *   and the event pass them (`pkg/auth/event_policy.go`, `verifier.go`), with
 *   `default-authorization-mode` when none applies.
 */
import { createHash } from 'node:crypto';
import { groupOf, kindOf, nameOf, rec, str, subjectMatches, type Manifest } from './documents.js';
import type { Destination } from './delivery.js';
import type { AttributeValue, EventFilter } from './filters.js';
import { subjectContained } from './subjects.js';

/** The `authorization-mode` values of `config-features` (eventing `pkg/apis/feature`). */
export const AUTHORIZATION_MODES = ['allow-all', 'allow-same-namespace', 'deny-all'] as const;

/** The audience of the resource `kind` of `group` named `namespace/name`. */
export const audienceOf = (group: string, kind: string, namespace: string, name: string): string => `${group}/${kind}/${namespace}/${name}`.toLowerCase();

/** A Destination's audience: its own, else the one its ref announces (a Broker); undefined when none (no token is sent). */
export function destinationAudience(destination: Destination, namespace: string): string | undefined {
  if (typeof destination.audience === 'string' && destination.audience !== '') return destination.audience;
  const ref = destination.ref;
  if (!ref || groupOf(ref) !== 'eventing.knative.dev' || ref.kind !== 'Broker') return undefined;
  return audienceOf('eventing.knative.dev', 'Broker', ref.namespace ?? namespace, ref.name);
}

const LONGEST = 63;
const MD5_LENGTH = 32;

/** knative.dev/pkg `kmeta.ChildName`: `parent + suffix`, hashed to fit 63 characters. */
export function childName(parent: string, suffix: string): string {
  if (parent.length <= LONGEST - suffix.length) return parent + suffix;
  const head = LONGEST - MD5_LENGTH;
  if (head - suffix.length > 0) return parent.slice(0, head - suffix.length) + md5(parent) + suffix;
  let name = parent.slice(0, head) + md5(parent + suffix);
  if (name.length < LONGEST) name += suffix.slice(0, LONGEST - name.length);
  return name.replace(/[^a-zA-Z0-9]+$/, '');
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The OIDC subject Knative gives a Trigger or a source (`<name>-oidc-<group>-<kind>`, a ServiceAccount of its namespace). */
export function oidcSubjectOf(group: string, kind: string, namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${childName(name, `-oidc-${group}-${kind}`).toLowerCase()}`;
}

/** Kinds whose `.status.auth` names the ServiceAccount they send as, so an EventPolicy `from.ref` to one resolves. */
export const AUTHENTICATABLE_KINDS: ReadonlySet<string> = new Set(
  ['ApiServerSource', 'ContainerSource', 'PingSource', 'SinkBinding'].map((k) => `sources.knative.dev/${k}`).concat('eventing.knative.dev/Trigger'),
);

/** What the authorization check needs of an EventPolicy (the model's EventPolicyModel). */
export interface PolicyRule {
  namespace: string;
  /** The targets; none means every target in the namespace. */
  to: { ref?: { apiVersion: string; kind: string; name: string }; selector?: Record<string, unknown> }[];
  /** OIDC subjects admitted, a trailing `*` matching any suffix; a source or Trigger ref is the ServiceAccount Knative gives it. */
  subjects: string[];
  filter: EventFilter;
  /** Every `from` resolved: Knative marks a policy whose `from` it cannot resolve not ready, and applies it nowhere. */
  ready: boolean;
}

/** The ready policies that apply to `target` (a manifest): those of its namespace with no `to`, or a `to` naming or selecting it. */
export function policiesFor<P extends PolicyRule>(policies: readonly P[], target: Manifest, namespace: string): P[] {
  const [group, kind, name] = [groupOf(target).toLowerCase(), kindOf(target).toLowerCase(), nameOf(target)];
  const sameKind = (o: { apiVersion?: unknown; kind?: unknown } = {}) => groupOf(o).toLowerCase() === group && (str(o.kind) ?? '').toLowerCase() === kind;
  return policies.filter(
    (p) =>
      p.ready &&
      p.namespace === namespace &&
      (p.to.length === 0 ||
        p.to.some((to) =>
          to.ref
            ? sameKind(to.ref) && to.ref.name.toLowerCase() === name.toLowerCase()
            : sameKind(to.selector) && subjectMatches({ ...rec(to.selector), selector: to.selector }, [target], namespace).length > 0,
        )),
  );
}

/**
 * Whether `subject` may send `attributes` to a resource of `namespace` that
 * `applying` policies govern: one of them names the subject and its filters
 * pass the event; with none, `default-authorization-mode` decides.
 */
export function admits(applying: readonly PolicyRule[], subject: string, attributes: Readonly<Record<string, AttributeValue>>, namespace: string, mode: string): boolean {
  if (applying.length > 0) return applying.some((p) => subjectContained(subject, p.subjects) && p.filter(attributes) !== 'fail');
  if (mode === 'deny-all') return false;
  if (mode === 'allow-all') return true;
  return subject.startsWith(`system:serviceaccount:${namespace}:`);
}
