/**
 * Knative's delivery policy (`spec.delivery` of a Broker or Trigger): how many
 * retries, the backoff before each, the per-request timeout, the dead-letter
 * sink, and which outcomes are worth a retry.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DurationError, parseDuration } from './durations.js';
import { BrokerConfigError } from './errors.js';

/** A Destination as manifests write it: a ref to resolve, a URI, or both. */
export interface Destination {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string };
  uri?: string;
}

/** The DeliverySpec of one Trigger, checked and resolved. */
export interface DeliveryPolicy {
  /** Retries after the first attempt. */
  retry: number;
  /** Only when the spec sets both `backoffPolicy` and `backoffDelay`. */
  backoff?: { policy: 'linear' | 'exponential'; delayMs: number };
  /** Limit on each request (connect, send, and read the whole response). */
  timeoutMs?: number;
  /** When set, a 429/503 `Retry-After` is honoured up to this long. */
  retryAfterMaxMs?: number;
  /** Absolute URL of the dead-letter sink. */
  deadLetterSink?: string;
  /** `json` sends events in structured mode; binary mode otherwise. */
  format?: 'json' | 'binary';
}

/** No retries, no sink: what a Trigger gets when neither it nor its Broker sets `delivery`. */
export const NO_DELIVERY_SPEC: DeliveryPolicy = { retry: 0 };

const FIELDS = new Set(['deadLetterSink', 'retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'retryAfterMax', 'format']);

/**
 * Reads a DeliverySpec.
 * @param where names the owner in error messages, e.g. `Trigger ordersaga/notify: spec.delivery`.
 * @param resolveSink turns the `deadLetterSink` Destination into a URL.
 * @throws {BrokerConfigError}
 */
export function readDeliverySpec(spec: unknown, where: string, resolveSink: (destination: Destination) => string): DeliveryPolicy {
  if (spec === undefined || spec === null) return NO_DELIVERY_SPEC;
  if (typeof spec !== 'object' || Array.isArray(spec)) throw new BrokerConfigError(`${where} must be an object`);
  const fields = spec as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) throw new BrokerConfigError(`${where} has unknown field(s) ${unknown.join(', ')}`);

  const policy: DeliveryPolicy = { retry: 0 };
  if (fields.retry !== undefined && fields.retry !== null) {
    if (typeof fields.retry !== 'number' || !Number.isInteger(fields.retry) || fields.retry < 0) {
      throw new BrokerConfigError(`${where}.retry must be an integer ≥ 0, got ${JSON.stringify(fields.retry)}`);
    }
    policy.retry = fields.retry;
  }
  const backoffPolicy = fields.backoffPolicy;
  if (backoffPolicy !== undefined && backoffPolicy !== null && backoffPolicy !== 'linear' && backoffPolicy !== 'exponential') {
    throw new BrokerConfigError(`${where}.backoffPolicy must be linear or exponential, got ${JSON.stringify(backoffPolicy)}`);
  }
  const backoffDelay = duration(fields.backoffDelay, `${where}.backoffDelay`);
  if ((backoffPolicy === 'linear' || backoffPolicy === 'exponential') && backoffDelay !== undefined) {
    policy.backoff = { policy: backoffPolicy, delayMs: backoffDelay };
  }
  const timeout = duration(fields.timeout, `${where}.timeout`);
  if (timeout !== undefined && timeout > 0) policy.timeoutMs = timeout;
  const retryAfterMax = duration(fields.retryAfterMax, `${where}.retryAfterMax`);
  if (retryAfterMax !== undefined) policy.retryAfterMaxMs = retryAfterMax;
  if (fields.format !== undefined && fields.format !== null) {
    if (fields.format !== 'json' && fields.format !== 'binary') throw new BrokerConfigError(`${where}.format must be json or binary`);
    policy.format = fields.format;
  }
  if (fields.deadLetterSink !== undefined && fields.deadLetterSink !== null) {
    try {
      policy.deadLetterSink = resolveSink(fields.deadLetterSink as Destination);
    } catch (err) {
      throw new BrokerConfigError(`${where}.deadLetterSink does not resolve: ${(err as Error).message}`);
    }
  }
  return policy;
}

function duration(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BrokerConfigError(`${where} must be an ISO-8601 duration string such as PT0.2S`);
  try {
    return parseDuration(value);
  } catch (err) {
    if (err instanceof DurationError) throw new BrokerConfigError(`${where}: ${err.message}`);
    throw err;
  }
}

/**
 * The wait before retry `n` (1 for the first retry). Knative's retry loop
 * counts from zero, so linear backoff waits `delay × (n−1)` (the first retry
 * is immediate) and exponential backoff waits `delay × 2^(n−1)`.
 */
export function backoffBefore(policy: DeliveryPolicy, n: number): number {
  if (!policy.backoff) return 0;
  const { policy: kind, delayMs } = policy.backoff;
  return kind === 'linear' ? delayMs * (n - 1) : delayMs * 2 ** (n - 1);
}

/**
 * Whether a failed attempt is worth another: no response at all, 5xx, and the
 * few 4xx that mean "not now" (404 while a pod starts, 408, 409, 429). Any other
 * 4xx is final.
 */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** The wait a 429/503 asks for in `Retry-After` (seconds or an HTTP date), when the policy honours it. */
export function retryAfterWait(policy: DeliveryPolicy, status: number | undefined, headers: IncomingHttpHeaders | undefined, now = Date.now()): number {
  if (policy.retryAfterMaxMs === undefined || (status !== 429 && status !== 503)) return 0;
  const raw = headers?.['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return 0;
  const wait = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(wait) || wait <= 0) return 0;
  return Math.min(wait, policy.retryAfterMaxMs);
}
