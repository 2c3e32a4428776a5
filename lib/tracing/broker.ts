/**
 * The spans Knative's data plane emits, for the Broker stand-in (eventing
 * `pkg/tracing/attributes.go`, `pkg/broker/ingress`, `pkg/broker/filter`,
 * `pkg/kncloudevents`): `broker:<name>.<namespace>` at the ingress,
 * `trigger:<name>.<namespace>` per Trigger's delivery, and a `send <url>`
 * client span per attempt (retries and dead-letter sends included), with
 * Knative's `messaging.*` and `k8s.*` attributes. Context comes in with
 * the W3C `traceparent`/`tracestate` headers and goes out with them.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { cloudEventAttributes } from './events.js';

type Carrier = Record<string, string | string[] | undefined>;
/** An event's context attributes, as the Broker holds them. */
type EventContext = Readonly<Record<string, unknown>>;

const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => carrier[key.toLowerCase()],
};

/** The W3C headers of `ctx`'s span (none when it has no valid span). */
export function traceHeaders(ctx: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(ctx, headers, { set: (carrier, key, value) => (carrier[key] = value) });
  return headers;
}

/** One attempt's span: its headers go with the request, `end` records how it went. */
export interface AttemptSpan {
  headers: Record<string, string>;
  end(result: { status: number | null; outcome: string; reason?: string }): void;
}

/** A Trigger's delivery of one event, through all its attempts. */
export interface DeliverySpan {
  attempt(url: string, attempt: number, deadLetterSink: boolean): AttemptSpan;
  /** The event goes to the dead-letter sink. */
  deadLettered(destination: string, code: number, reason: string): void;
  end(outcome: 'delivered' | 'replied' | 'dead-lettered' | 'failed', reason?: string): void;
}

export interface BrokerTracing {
  /** The ingress took `event` into a Broker; `carrier` holds the request's headers (or a reply's context). Returns the context of its deliveries. */
  accepted(event: EventContext, where: { namespace: string; broker: string }, carrier: Carrier): Context;
  delivery(parent: Context, trigger: { namespace: string; name: string }, event: EventContext): DeliverySpan;
}

const knative = (destination: string, event: EventContext, name: string, namespace: string, resource: string): Attributes => ({
  'messaging.system': 'knative',
  'messaging.destination': destination,
  'messaging.protocol': 'HTTP',
  'messaging.message_id': String(event.id),
  'k8s.namespace': namespace,
  'k8s.name': name,
  'k8s.resource': resource,
  ...cloudEventAttributes({ id: String(event.id), source: String(event.source), type: String(event.type), subject: typeof event.subject === 'string' ? event.subject : undefined }),
});

/** Knative's spans from these tracers (the ingress's and the filter's services); no-op tracers by default. */
export function brokerTracing(tracers: { ingress: Tracer; filter: Tracer } = { ingress: trace.getTracer('broker-ingress'), filter: trace.getTracer('broker-filter') }): BrokerTracing {
  return {
    accepted(event, { namespace, broker }, carrier) {
      const parent = propagator.extract(ROOT_CONTEXT, carrier, getter);
      const destination = `broker:${broker}.${namespace}`;
      const span = tracers.ingress.startSpan(destination, { kind: SpanKind.SERVER, attributes: knative(destination, event, broker, namespace, 'brokers.eventing.knative.dev') }, parent);
      // The ingress answers 202 at once; deliveries go on under its span.
      span.end();
      return trace.setSpan(parent, span);
    },
    delivery(parent, trigger, event) {
      const destination = `trigger:${trigger.name}.${trigger.namespace}`;
      const span: Span = tracers.filter.startSpan(
        destination,
        { kind: SpanKind.SERVER, attributes: knative(destination, event, trigger.name, trigger.namespace, 'triggers.eventing.knative.dev') },
        parent,
      );
      const inside = trace.setSpan(parent, span);
      return {
        attempt(url, attempt, deadLetterSink) {
          const send = tracers.filter.startSpan(
            `send ${url}`,
            {
              kind: SpanKind.CLIENT,
              attributes: { 'http.request.method': 'POST', 'url.full': url, 'knative.delivery.attempt': attempt, ...(deadLetterSink ? { 'knative.delivery.dead_letter_sink': true } : {}) },
            },
            inside,
          );
          return {
            headers: traceHeaders(trace.setSpan(inside, send)),
            end({ status, outcome, reason }) {
              if (status !== null) send.setAttribute('http.response.status_code', status);
              send.setAttribute('knative.delivery.outcome', outcome);
              if (outcome === 'retrying' || outcome === 'failed') send.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? outcome });
              send.end();
            },
          };
        },
        deadLettered(destination, code, reason) {
          span.addEvent('dead-lettered', { knativeerrordest: destination, knativeerrorcode: code, 'exception.message': reason });
        },
        end(outcome, reason) {
          span.setAttribute('knative.delivery.outcome', outcome);
          if (outcome === 'dead-lettered' || outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? outcome });
          span.end();
        },
      };
    },
  };
}
