/**
 * Which HTTP headers travel with an event through the Broker, by eventing
 * `pkg/utils/headers.go` (`PassThroughHeaders`): `x-request-id` and
 * `retry-after`, and headers starting `knative-` or `x-b3-`, from a producer's
 * request and from a subscriber's response onto its reply. Everything else
 * stays behind, CloudEvent attributes included (they travel in the event).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Asks a subscriber to answer with a reply event if it has one. */
export const PREFER = 'prefer';
/** Tells a subscriber the namespace of the Trigger that delivers to it. */
export const KN_NAMESPACE = 'kn-namespace';

const FORWARDED = new Set([
  'x-request-id',
  'retry-after',
  // Not headers.go's: Knative's tracing instrumentation carries W3C trace
  // context on every hop. With no tracing of its own the stand-in hands the
  // producer's context on, so a subscriber's spans join its trace.
  'traceparent',
  'tracestate',
]);
const FORWARDED_PREFIXES = ['knative-', 'x-b3-'];

/** The headers of a request or response that Knative passes through with its event. */
export function passThroughHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && (FORWARDED.has(lower) || FORWARDED_PREFIXES.some((prefix) => lower.startsWith(prefix)))) {
      kept[lower] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return kept;
}
