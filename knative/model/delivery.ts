/**
 * Knative's DeliverySpec (`spec.delivery` of a Broker or Trigger), checked by
 * the webhook's rules (eventing `pkg/apis/duck/v1/delivery_types.go`) and read
 * the way the dispatcher uses it (`pkg/kncloudevents/retries.go`).
 */
import { isRecord, type Finding } from './documents.js';
import { parseDuration } from './durations.js';

/** A Destination as manifests write it: a ref to resolve, a URI, or both. */
export interface Destination {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string };
  uri?: string;
  /** The OIDC audience of the target, for one that announces none (`authentication-oidc`). */
  audience?: string;
}

/** A checked DeliverySpec; destinations are still to be resolved. */
export interface DeliverySpec {
  /** Retries after the first attempt. */
  retry: number;
  /** Only when the spec sets both `backoffPolicy` and `backoffDelay`. */
  backoff?: { policy: 'linear' | 'exponential'; delayMs: number };
  /** Limit on each request; Knative sets none for zero or less. */
  timeoutMs?: number;
  /** When set, a 429/503 `Retry-After` is honoured up to this long. */
  retryAfterMaxMs?: number;
  deadLetterSink?: Destination;
  /** `json` sends events in structured mode; binary mode otherwise. */
  format?: 'json' | 'binary';
}

/**
 * The delivery of the default install's `config-br-defaults` (`clusterDefault.delivery`), which
 * Knative's defaulting gives a Broker that has no `delivery` of its own.
 */
export const BROKER_DEFAULT_DELIVERY = { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' } as const;

/** Whether `value` is a Destination the webhook takes: a mapping with a ref or a uri. */
export const isDestination = (value: unknown): value is Destination =>
  isRecord(value) && (isRecord(value.ref) || typeof value.uri === 'string');

const FIELDS = new Set(['deadLetterSink', 'retry', 'timeout', 'backoffPolicy', 'backoffDelay', 'retryAfterMax', 'format']);

/**
 * Reads a DeliverySpec at `at`. `features` is config-features: `timeout` needs delivery-timeout and
 * `retryAfterMax` delivery-retryafter, or the webhook refuses them. A `no-op` finding is a setting
 * Knative accepts and ignores.
 */
export function readDelivery(value: unknown, at: string, features: Readonly<Record<string, string>>): { spec: DeliverySpec; findings: (Finding & { noop?: true })[] } {
  const findings: (Finding & { noop?: true })[] = [];
  const spec: DeliverySpec = { retry: 0 };
  if (!isRecord(value)) return { spec, findings: value === undefined || value === null ? [] : [{ path: at, message: 'delivery must be a mapping' }] };
  const bad = (field: string, message: string) => findings.push({ path: `${at}.${field}`, message });
  for (const key of Object.keys(value)) if (!FIELDS.has(key)) bad(key, `unknown delivery field "${key}"`);
  const { retry, backoffPolicy, backoffDelay, timeout, retryAfterMax, format, deadLetterSink } = value;
  const duration = (field: string, text: unknown) => {
    const ms = typeof text === 'string' ? parseDuration(text) : undefined;
    if (ms === undefined) bad(field, `${field} must be an ISO-8601 duration such as PT0.5S, not ${JSON.stringify(text)}`);
    return ms;
  };
  if (retry !== undefined) {
    if (Number.isInteger(retry) && (retry as number) >= 0) spec.retry = retry as number;
    else bad('retry', `retry must be an integer ≥ 0, not ${JSON.stringify(retry)}`);
  }
  if (backoffPolicy !== undefined && backoffPolicy !== 'linear' && backoffPolicy !== 'exponential') {
    bad('backoffPolicy', `backoffPolicy must be linear or exponential, not ${JSON.stringify(backoffPolicy)}`);
  }
  const delayMs = backoffDelay === undefined ? undefined : duration('backoffDelay', backoffDelay);
  if ((backoffPolicy === 'linear' || backoffPolicy === 'exponential') && delayMs !== undefined) spec.backoff = { policy: backoffPolicy, delayMs };
  else if ((backoffPolicy === undefined) !== (backoffDelay === undefined)) {
    findings.push({ path: at, message: 'backoffPolicy and backoffDelay take effect only together; set both or neither', noop: true });
  }
  if (timeout !== undefined) {
    if (features['delivery-timeout'] !== 'enabled') bad('timeout', 'timeout needs the feature delivery-timeout (config-features)');
    const ms = duration('timeout', timeout);
    if (ms === 0) bad('timeout', 'timeout must not be zero');
    else if (ms !== undefined && ms > 0) spec.timeoutMs = ms;
  }
  if (retryAfterMax !== undefined) {
    if (features['delivery-retryafter'] !== 'enabled') bad('retryAfterMax', 'retryAfterMax needs the alpha feature delivery-retryafter (config-features), off by default');
    const ms = duration('retryAfterMax', retryAfterMax);
    if (ms !== undefined && ms < 0) bad('retryAfterMax', 'retryAfterMax must not be negative');
    else if (ms !== undefined) spec.retryAfterMaxMs = ms;
  }
  if (format !== undefined) {
    if (format === 'json' || format === 'binary') spec.format = format;
    else bad('format', `format must be json or binary, not ${JSON.stringify(format)}`);
  }
  if (deadLetterSink !== undefined) {
    if (isDestination(deadLetterSink)) spec.deadLetterSink = deadLetterSink;
    else bad('deadLetterSink', 'deadLetterSink needs a ref or a uri');
  }
  return { spec, findings };
}

/**
 * The wait before retry `n` (1 for the first). Knative's retry loop counts from zero, so linear
 * backoff waits `delay × (n−1)` (the first retry is immediate), exponential `delay × 2^(n−1)`.
 */
export function backoffBefore(spec: DeliverySpec, n: number): number {
  if (!spec.backoff) return 0;
  const { policy, delayMs } = spec.backoff;
  return Math.max(0, policy === 'linear' ? delayMs * (n - 1) : delayMs * 2 ** (n - 1));
}

/**
 * Whether a failed attempt is worth another (`SelectiveRetry`): no response, 5xx, and the 4xx that
 * mean "not now" (404 while a pod starts, 408, 409, 429). Any other status is final.
 */
export const isRetryable = (status: number | undefined): boolean =>
  status === undefined || status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
