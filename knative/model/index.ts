/**
 * One model of the Knative resources in a set of manifests, used by the local
 * stand-in (which runs it) and the offline validator (which reports its
 * problems on top of the CRD schemas): Brokers with their delivery (Knative's
 * defaults when they set none), Triggers with compiled filters, PingSources
 * with their schedules, EventPolicies, and the `config-features` and
 * `config-br-defaults` a manifest may set. Every rule here is one a
 * Kubernetes API server or a Knative webhook would apply; `noop` problems are
 * settings Knative accepts and silently ignores.
 */
import { parse as parseYaml } from 'yaml';
import { parseSchedule, type CronSchedule } from './cron.js';
import { BROKER_DEFAULT_DELIVERY, isDestination, readDelivery, type DeliverySpec, type Destination } from './delivery.js';
import { arr, describe, dig, findDoc, groupOf, isKind, isRecord, kindOf, nameOf, namespaceOf, rec, str } from './documents.js';
import type { Finding, Manifest, Problem } from './documents.js';
import { compileFilters, type EventFilter } from './filters.js';
import { AUTHENTICATABLE_KINDS, AUTHORIZATION_MODES, oidcSubjectOf, type PolicyRule } from './oidc.js';

export * from './documents.js';
export { parseDuration } from './durations.js';
export { backoffBefore, BROKER_DEFAULT_DELIVERY, isRetryable, type DeliverySpec, type Destination } from './delivery.js';
export { compileFilters, type AttributeValue } from './filters.js';
export { CesqlNonBooleanResultError } from './cesql/index.js';
export { admits, audienceOf, destinationAudience, oidcSubjectOf, policiesFor } from './oidc.js';

/** Where a resource lives. */
export interface Named {
  namespace: string;
  name: string;
}

export interface BrokerModel extends Named {
  /** Its own delivery, or the one Knative's defaulting gives it. */
  delivery: DeliverySpec;
}

export interface TriggerModel extends Named {
  /** `<namespace>/<name>` of its Broker. */
  broker: string;
  subscriber: Destination;
  filter: EventFilter;
  /** Its own delivery, or else its Broker's: a replacement, never a merge. */
  delivery: DeliverySpec;
}

export interface PingSourceModel extends Named {
  schedule: CronSchedule;
  /** Unset when the PingSource names none. */
  contentType?: string;
  data?: Buffer;
  sink: Destination;
}

/** Who may send to what, for the `authentication-oidc` feature (`oidc.ts` applies it). */
export interface EventPolicyModel extends Named, PolicyRule {
  /** References in `from` this model cannot resolve to a subject. */
  from: { apiVersion: string; kind: string; name: string; namespace: string }[];
}

export type ModelProblem = Problem & { noop?: true };

export interface KnativeModel {
  brokers: BrokerModel[];
  triggers: TriggerModel[];
  pingSources: PingSourceModel[];
  eventPolicies: EventPolicyModel[];
  /** `config-features` of the default install, with what the manifests set over it. */
  features: Record<string, string>;
  problems: ModelProblem[];
}

/** The default install's `config-features` flags this model reads. */
export const DEFAULT_FEATURES: Readonly<Record<string, string>> = { 'authentication-oidc': 'disabled', 'delivery-timeout': 'enabled', 'delivery-retryafter': 'disabled' };
/** The default install's `default-authorization-mode`: what admits a sender when no EventPolicy applies. */
export const DEFAULT_AUTHORIZATION_MODE = 'allow-same-namespace';

const EVENTING = 'eventing.knative.dev';
const TRIGGER_SPEC_KEYS = new Set(['broker', 'brokerRef', 'filter', 'filters', 'subscriber', 'delivery']);
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads every Knative resource of `docs` (in `defaultNamespace` when they name none); never throws
 * on bad input, every refusal is a problem.
 */
export function readModel(docs: readonly Manifest[], options: { defaultNamespace?: string } = {}): KnativeModel {
  const fallback = options.defaultNamespace ?? 'default';
  const model: KnativeModel = {
    brokers: [],
    triggers: [],
    pingSources: [],
    eventPolicies: [],
    features: { ...DEFAULT_FEATURES, 'default-authorization-mode': DEFAULT_AUTHORIZATION_MODE },
    problems: [],
  };
  const report = (doc: Manifest, rule: string, findings: (Finding & { noop?: true })[]) => {
    for (const f of findings) model.problems.push({ rule, resource: describe(doc), ...f });
  };
  const seen = new Set<string>();
  for (const doc of docs) {
    const name = nameOf(doc);
    if (!str(doc.apiVersion) || !kindOf(doc) || !name) report(doc, 'identity', [{ path: '', message: 'apiVersion, kind and metadata.name are required' }]);
    else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) report(doc, 'identity', [{ path: 'metadata.name', message: `"${name}" is not a valid Kubernetes name (lowercase DNS-1123)` }]);
    const key = [groupOf(doc), kindOf(doc), namespaceOf(doc, fallback), name].join('|');
    if (seen.has(key)) report(doc, 'duplicate', [{ path: '', message: 'declared more than once' }]);
    seen.add(key);
  }

  const features = findDoc(docs, '', 'ConfigMap', 'config-features');
  if (features) {
    if (namespaceOf(features, '') !== 'knative-eventing') report(features, 'config', [{ path: 'metadata.namespace', message: 'config-features takes effect only in namespace knative-eventing' }]);
    for (const [flag, value] of Object.entries(rec(features.data) ?? {})) {
      if (flag in DEFAULT_FEATURES && !['enabled', 'disabled', 'allowed'].includes(String(value))) report(features, 'config', [{ path: `data.${flag}`, message: 'a feature is enabled, disabled or allowed' }]);
      if (flag === 'default-authorization-mode' && !(AUTHORIZATION_MODES as readonly string[]).includes(String(value))) {
        report(features, 'config', [{ path: `data.${flag}`, message: `the default authorization mode is one of ${AUTHORIZATION_MODES.join(', ')}` }]);
      }
      model.features[flag] = String(value);
    }
  }
  const defaultsDoc = findDoc(docs, '', 'ConfigMap', 'config-br-defaults');
  const brokerDefaults = readBrokerDefaults(defaultsDoc, (f) => report(defaultsDoc!, 'config', f));

  for (const doc of docs.filter((d) => isKind(d, EVENTING, 'Broker'))) {
    const namespace = namespaceOf(doc, fallback);
    const own = dig(doc, 'spec', 'delivery');
    // Knative's defaulting gives a Broker without delivery the one config-br-defaults names.
    const { spec, findings } = readDelivery(own ?? brokerDefaults(namespace), own === undefined ? 'config-br-defaults' : 'spec.delivery', model.features);
    report(doc, 'delivery', findings);
    model.brokers.push({ namespace, name: nameOf(doc), delivery: spec });
  }

  for (const doc of docs.filter((d) => isKind(d, EVENTING, 'Trigger'))) {
    const namespace = namespaceOf(doc, fallback);
    const spec = rec(doc.spec) ?? {};
    const findings: Finding[] = Object.keys(spec)
      .filter((k) => !TRIGGER_SPEC_KEYS.has(k))
      .map((k) => ({ path: `spec.${k}`, message: `unknown Trigger spec field "${k}" (allowed: ${[...TRIGGER_SPEC_KEYS].join(', ')})` }));
    const ref = rec(spec.brokerRef);
    const brokerName = str(ref?.name) || str(spec.broker) || 'default';
    if (ref && str(spec.broker) && spec.broker !== brokerName) findings.push({ path: 'spec.brokerRef', message: 'spec.broker and spec.brokerRef name different Brokers' });
    const brokerNamespace = str(ref?.namespace) || namespace;
    const broker = model.brokers.find((b) => b.namespace === brokerNamespace && b.name === brokerName);
    if (!broker) report(doc, 'reference', [{ path: 'spec.broker', message: `Broker ${brokerNamespace}/${brokerName} is not in the manifests` }]);
    const subscriber = isDestination(spec.subscriber) ? spec.subscriber : undefined;
    if (!subscriber) findings.push({ path: 'spec.subscriber', message: 'a Trigger needs a subscriber with a ref or a uri' });
    report(doc, 'trigger-spec', findings);
    const filters = compileFilters(spec, 'spec');
    report(doc, 'filter', filters.findings);
    const delivery = spec.delivery === undefined ? undefined : readDelivery(spec.delivery, 'spec.delivery', model.features);
    report(doc, 'delivery', delivery?.findings ?? []);
    if (!broker || !subscriber) continue;
    const key = `${broker.namespace}/${broker.name}`;
    model.triggers.push({ namespace, name: nameOf(doc), broker: key, subscriber, filter: filters.filter, delivery: delivery?.spec ?? broker.delivery });
  }

  for (const doc of docs.filter((d) => isKind(d, 'sources.knative.dev', 'PingSource'))) {
    const source = readPingSource(doc, namespaceOf(doc, fallback));
    report(doc, 'pingsource', source.findings);
    if (source.model) model.pingSources.push(source.model);
  }

  for (const doc of docs.filter((d) => isKind(d, EVENTING, 'EventPolicy'))) {
    const policy = readEventPolicy(doc, namespaceOf(doc, fallback));
    // The webhook refuses to create one (or change its spec) while the feature is off: "oidc-authentication feature not enabled".
    if (model.features['authentication-oidc'] !== 'enabled') policy.findings.push({ path: '', message: 'an EventPolicy needs the feature authentication-oidc enabled (config-features)' });
    report(doc, 'eventpolicy', policy.findings);
    model.eventPolicies.push(policy.model);
  }
  return model;
}

/** `config-br-defaults`'s `default-br-config`: the delivery for a Broker in `namespace` (eventing `pkg/apis/config/defaults.go`). */
function readBrokerDefaults(doc: Manifest | undefined, report: (findings: Finding[]) => void): (namespace: string) => unknown {
  if (!doc) return () => BROKER_DEFAULT_DELIVERY;
  let config: unknown;
  try {
    config = parseYaml(str(dig(doc, 'data', 'default-br-config')) ?? '');
  } catch (err) {
    report([{ path: 'data.default-br-config', message: `not YAML: ${(err as Error).message}` }]);
  }
  return (namespace) => dig(config, 'namespaceDefaults', namespace, 'delivery') ?? dig(config, 'clusterDefault', 'delivery');
}

function readPingSource(doc: Manifest, namespace: string): { model?: PingSourceModel; findings: Finding[] } {
  const findings: Finding[] = [];
  const spec = rec(doc.spec) ?? {};
  const schedule = parseSchedule(str(spec.schedule) ?? '', str(spec.timezone) ?? '');
  if ('message' in schedule) findings.push({ path: `spec.${schedule.field}`, message: schedule.message });
  const sink = isDestination(spec.sink) ? spec.sink : undefined;
  if (!sink) findings.push({ path: 'spec.sink', message: 'a PingSource needs a sink with a ref or a uri' });
  const contentType = str(spec.contentType);
  const [text, base64] = [str(spec.data) ?? '', str(spec.dataBase64) ?? ''];
  if (text !== '' && base64 !== '') findings.push({ path: 'spec', message: 'data and dataBase64 are mutually exclusive' });
  if (base64 !== '' && !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(base64)) findings.push({ path: 'spec.dataBase64', message: 'dataBase64 is not base64' });
  const data = base64 !== '' ? Buffer.from(base64, 'base64') : text !== '' ? Buffer.from(text, 'utf8') : undefined;
  // ping_validation.go: with contentType application/json the data must be a JSON object.
  if (contentType === 'application/json' && data && !isJsonObject(data)) findings.push({ path: base64 ? 'spec.dataBase64' : 'spec.data', message: 'contentType is application/json but the data is not a JSON object' });
  if ('message' in schedule || !sink) return { findings };
  return { model: { namespace, name: nameOf(doc), schedule, contentType, data, sink }, findings };
}

function isJsonObject(data: Buffer): boolean {
  try {
    return isRecord(JSON.parse(data.toString('utf8')));
  } catch {
    return false;
  }
}

/** An EventPolicy by the webhook's rules (eventing `pkg/apis/eventing/v1alpha1/eventpolicy_validation.go`). */
function readEventPolicy(doc: Manifest, namespace: string): { model: EventPolicyModel; findings: (Finding & { noop?: true })[] } {
  const findings: (Finding & { noop?: true })[] = [];
  const spec = rec(doc.spec) ?? {};
  const reference = (ref: Record<string, unknown>, at: string) => {
    for (const field of ['apiVersion', 'kind', 'name']) if (!str(ref[field])) findings.push({ path: `${at}.${field}`, message: `${field} is required` });
    return { apiVersion: str(ref.apiVersion) ?? '', kind: str(ref.kind) ?? '', name: str(ref.name) ?? '', namespace: str(ref.namespace) || namespace };
  };
  const filters = compileFilters(spec, 'spec');
  findings.push(...filters.findings);
  const model: EventPolicyModel = { namespace, name: nameOf(doc), to: [], subjects: [], from: [], filter: filters.filter, ready: true };
  arr(spec.from).forEach((from, i) => {
    const [ref, sub] = [rec(dig(from, 'ref')), str(dig(from, 'sub'))];
    if (!ref === !sub) findings.push({ path: `spec.from[${i}]`, message: 'a from entry has a ref or a sub, exactly one' });
    if (sub && sub.indexOf('*') >= 0 && sub.indexOf('*') < sub.length - 1) findings.push({ path: `spec.from[${i}].sub`, message: "'*' is only allowed as suffix" });
    if (sub) model.subjects.push(sub);
    if (!ref) return;
    const r = reference(ref, `spec.from[${i}].ref`);
    const group = groupOf(r);
    // pkg/auth/event_policy.go resolves a ref through its `.status.auth`; a ServiceAccount has none, so the policy never becomes ready.
    if (AUTHENTICATABLE_KINDS.has(`${group}/${r.kind}`)) return void model.subjects.push(oidcSubjectOf(group, r.kind, r.namespace, r.name));
    model.from.push(r);
    model.ready = false;
    if (r.kind === 'ServiceAccount') {
      const message = `a ServiceAccount has no .status.auth, so Knative never resolves this ref and never applies the policy; write sub: system:serviceaccount:${r.namespace}:${r.name}`;
      findings.push({ path: `spec.from[${i}].ref`, message, noop: true });
    }
  });
  arr(spec.to).forEach((to, i) => {
    const [ref, selector] = [rec(dig(to, 'ref')), rec(dig(to, 'selector'))];
    if (!ref === !selector) findings.push({ path: `spec.to[${i}]`, message: 'a to entry has a ref or a selector, exactly one' });
    model.to.push(ref ? { ref: reference(ref, `spec.to[${i}].ref`) } : { selector });
  });
  return { model, findings };
}
