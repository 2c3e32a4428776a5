/**
 * The Brokers and Triggers in a set of Kubernetes manifests, checked the way
 * Knative's webhook and reconciler would, and resolved to URLs.
 */
import { BrokerConfigError } from './errors.js';
import { compileTriggerFilter, type EventFilter } from './filters.js';
import { readDeliverySpec, type DeliveryPolicy, type Destination } from './retries.js';

/** Turns a Destination into an absolute URL, in the namespace of the object that names it. */
export type DestinationResolver = (destination: Destination, namespace: string) => string;

/** A Trigger ready to dispatch. */
export interface TriggerResource {
  namespace: string;
  name: string;
  /** Absolute URL of the subscriber. */
  subscriber: string;
  filter: EventFilter;
  /** The Trigger's `delivery`, or its Broker's when the Trigger has none. */
  delivery: DeliveryPolicy;
}

/** A Broker and the Triggers subscribed to it, in manifest order. */
export interface BrokerResource {
  namespace: string;
  name: string;
  triggers: TriggerResource[];
}

const EVENTING_GROUP = 'eventing.knative.dev/';
const TRIGGER_SPEC_FIELDS = new Set(['broker', 'brokerRef', 'filter', 'filters', 'subscriber', 'delivery']);

/** The key of a Broker in the ingress: `<namespace>/<name>`. */
export const brokerKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Reads every Broker and Trigger of `manifests` (other kinds are ignored).
 * @param defaultNamespace the namespace of documents that do not name one.
 * @throws {BrokerConfigError}
 */
export function readResources(
  manifests: readonly Record<string, unknown>[],
  resolve: DestinationResolver,
  defaultNamespace: string,
): Map<string, BrokerResource> {
  const brokers = new Map<string, BrokerResource>();
  const brokerDelivery = new Map<string, DeliveryPolicy>();
  const isKind = (doc: Record<string, unknown>, kind: string) => doc.kind === kind && String(doc.apiVersion ?? '').startsWith(EVENTING_GROUP);

  for (const doc of manifests.filter((d) => isKind(d, 'Broker'))) {
    const { namespace, name } = identity(doc, 'Broker', defaultNamespace);
    const key = brokerKey(namespace, name);
    if (brokers.has(key)) throw new BrokerConfigError(`Broker ${key} is defined twice`);
    const spec = objectField(doc.spec, `Broker ${key}: spec`);
    brokers.set(key, { namespace, name, triggers: [] });
    brokerDelivery.set(
      key,
      readDeliverySpec(spec.delivery, `Broker ${key}: spec.delivery`, (d) => resolve(d, namespace)),
    );
  }

  const seen = new Set<string>();
  for (const doc of manifests.filter((d) => isKind(d, 'Trigger'))) {
    const { namespace, name } = identity(doc, 'Trigger', defaultNamespace);
    const owner = `Trigger ${namespace}/${name}`;
    if (seen.has(`${namespace}/${name}`)) throw new BrokerConfigError(`${owner} is defined twice`);
    seen.add(`${namespace}/${name}`);
    const spec = objectField(doc.spec, `${owner}: spec`);
    const unknown = Object.keys(spec).filter((k) => !TRIGGER_SPEC_FIELDS.has(k));
    if (unknown.length > 0) {
      throw new BrokerConfigError(`${owner}: unknown field(s) spec.${unknown.join(', spec.')}; a Trigger spec has ${[...TRIGGER_SPEC_FIELDS].join(', ')}`);
    }

    const key = brokerOf(spec, namespace, owner);
    const broker = brokers.get(key);
    if (!broker) throw new BrokerConfigError(`${owner}: Broker ${key} is not in the manifests`);

    if (spec.subscriber === undefined || spec.subscriber === null) throw new BrokerConfigError(`${owner}: spec.subscriber is required`);
    let subscriber: string;
    try {
      subscriber = new URL(resolve(spec.subscriber as Destination, namespace)).toString();
    } catch (err) {
      throw new BrokerConfigError(`${owner}: spec.subscriber does not resolve: ${(err as Error).message}`);
    }

    // Knative hands a Trigger's delivery to its Subscription as it is, or the
    // Broker's when the Trigger has none: a replacement, never a merge.
    const delivery =
      spec.delivery === undefined || spec.delivery === null
        ? brokerDelivery.get(key)!
        : readDeliverySpec(spec.delivery, `${owner}: spec.delivery`, (d) => resolve(d, namespace));

    broker.triggers.push({ namespace, name, subscriber, filter: compileTriggerFilter(spec, owner), delivery });
  }
  return brokers;
}

function identity(doc: Record<string, unknown>, kind: string, defaultNamespace: string): { namespace: string; name: string } {
  const metadata = (doc.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  if (typeof metadata.name !== 'string' || metadata.name === '') throw new BrokerConfigError(`a ${kind} has no metadata.name`);
  const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : defaultNamespace;
  return { namespace, name: metadata.name };
}

function objectField(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new BrokerConfigError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function brokerOf(spec: Record<string, unknown>, namespace: string, owner: string): string {
  if (spec.brokerRef !== undefined && spec.brokerRef !== null) {
    const ref = spec.brokerRef as { name?: unknown; namespace?: unknown };
    if (typeof ref.name !== 'string' || ref.name === '') throw new BrokerConfigError(`${owner}: spec.brokerRef.name is required`);
    if (typeof spec.broker === 'string' && spec.broker !== '' && spec.broker !== ref.name) {
      throw new BrokerConfigError(`${owner}: spec.broker and spec.brokerRef name different Brokers`);
    }
    return brokerKey(typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : namespace, ref.name);
  }
  if (spec.broker !== undefined && typeof spec.broker !== 'string') throw new BrokerConfigError(`${owner}: spec.broker must be a Broker name`);
  // Knative's defaulting names the Broker "default" when a Trigger leaves it out.
  return brokerKey(namespace, typeof spec.broker === 'string' && spec.broker !== '' ? spec.broker : 'default');
}
