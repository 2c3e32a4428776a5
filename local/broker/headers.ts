/**
 * Which HTTP headers travel with an event through the Broker. Knative forwards
 * only an allow-list (request id, `Knative-*` and `K-Eventing-*` headers) from
 * a producer's request, and from a subscriber's response onto its reply;
 * everything else stays behind, CloudEvent attributes included (they travel in
 * the event itself).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Asks a subscriber to answer with a reply event if it has one. */
export const PREFER = 'prefer';
/** Tells a subscriber the namespace of the Trigger that delivers to it. */
export const KN_NAMESPACE = 'kn-namespace';

const FORWARDED = new Set([
  'x-request-id',
  // Trace context: with no tracing backend of its own, the stand-in hands the
  // producer's context on unchanged, so a subscriber's spans join its trace.
  'traceparent',
  'tracestate',
]);
const FORWARDED_PREFIXES = ['knative-', 'k-eventing-'];

/** The headers of a request or response that Knative passes through with its event. */
export function passThroughHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (FORWARDED.has(lower) || FORWARDED_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
      kept[lower] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return kept;
}
