/**
 * Delivery of one event to one Trigger's subscriber, as Knative's channel
 * dispatcher and broker filter do it together: attempts with retries and
 * backoff, the reply (if any) handed back to the Broker, and after the last
 * failed attempt the dead-letter sink, or a logged drop.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { contentModeOf, decodeMessage, encodeMessage, withExtensions, type BrokerEvent, type HttpMessage } from './events.js';
import { DEFAULT_TTL, TTL, ttlOf, withDeliveryError } from './extensions.js';
import { KN_NAMESPACE, PREFER, passThroughHeaders } from './headers.js';
import type { TriggerResource } from './resources.js';
import { backoffBefore, isRetryable, retryAfterWait, type DeliveryPolicy } from './retries.js';
import type { Semaphore } from './semaphore.js';
import { SendError, type HttpResponse, type Sender } from './sender.js';

/** The Broker's counters; the dispatcher adds to them. */
export interface DeliveryCounters {
  delivered: number;
  replied: number;
  retried: number;
  deadLettered: number;
  failed: number;
}

/** A structured logger. */
export interface DeliveryLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One attempt to deliver an event to a subscriber or a dead-letter sink, as the Broker reports it. */
export interface DeliveryAttempt {
  namespace: string;
  trigger: string;
  /** Where the attempt went. */
  url: string;
  /** Whether `url` is the Trigger's dead-letter sink. */
  deadLetterSink: boolean;
  event: BrokerEvent;
  /** 1 for the first attempt. */
  attempt: number;
  /** The HTTP status, or null when no response came. */
  status: number | null;
  ms: number;
  outcome: 'delivered' | 'replied' | 'retrying' | 'failed';
  reason?: string;
}

/** Watches events move through the Broker (the console's live view). Called synchronously; must not throw. */
export interface BrokerObserver {
  /** An event the ingress accepted (TTL and arrival time set), a reply taken back in included. */
  accepted(event: BrokerEvent, where: { namespace: string; broker: string; reply: boolean }): void;
  /** Each delivery attempt, retries and dead-letter sends included. */
  attempted(attempt: DeliveryAttempt): void;
}

/** What the dispatcher needs from the Broker around it. */
export interface DispatchContext {
  sender: Sender;
  log: DeliveryLog;
  observer?: BrokerObserver;
  counters: DeliveryCounters;
  /** Aborted when a drain runs out of time: deliveries stop where they are. */
  signal: AbortSignal;
  /** The in-flight limit of a Trigger's subscriber. */
  semaphore: Semaphore;
  /** Publishes a subscriber's reply into the Trigger's Broker. */
  reply(event: BrokerEvent, headers: Record<string, string>): void;
}

/** How an attempt ended, judged by Knative's rules. */
type Verdict =
  | { ok: true; reply?: BrokerEvent }
  | {
      ok: false;
      /** The status reported as `knativeerrorcode`; 500 when nothing came back, as Knative reports it. */
      code: number;
      body: Buffer;
      retryable: boolean;
      reason: string;
      abandoned?: boolean;
    };

interface AttemptTarget {
  url: string;
  /** The event as the subscriber or sink sees it, for the observer. */
  event: BrokerEvent;
  trigger: TriggerResource;
  deadLetterSink: boolean;
  message: HttpMessage;
  policy: DeliveryPolicy;
  judge: (response: HttpResponse) => Verdict;
  fields: Record<string, unknown>;
}

const NO_BODY = Buffer.alloc(0);

/**
 * Delivers `event` (as the ingress accepted it, TTL included) to the
 * Trigger's subscriber. Never rejects: every outcome is counted and logged.
 */
export async function deliver(context: DispatchContext, trigger: TriggerResource, event: BrokerEvent, headers: Record<string, string>): Promise<void> {
  const ttl = ttlOf(event) ?? DEFAULT_TTL;
  // The TTL is the Broker's own bookkeeping: subscribers never see it, and a
  // reply gets it back (decremented again at the ingress).
  const outgoing = withExtensions(event, { [TTL]: undefined });
  const policy = trigger.delivery;
  const fields = { namespace: trigger.namespace, trigger: trigger.name, type: outgoing.attributes.type, id: outgoing.attributes.id };
  const message = encodeFor(outgoing, policy);

  const result = await attemptWithRetries(context, {
    url: trigger.subscriber,
    event: outgoing,
    trigger,
    deadLetterSink: false,
    message: { headers: { ...headers, ...message.headers, [PREFER]: 'reply', [KN_NAMESPACE]: trigger.namespace }, body: message.body },
    policy,
    judge: judgeSubscriberResponse,
    fields: { ...fields, subscriber: trigger.subscriber },
  });

  if (result.verdict.ok) {
    context.counters.delivered += 1;
    if (result.verdict.reply) {
      context.counters.replied += 1;
      context.reply(withExtensions(result.verdict.reply, { [TTL]: ttl }), passThroughHeaders(result.headers ?? {}));
    }
    return;
  }
  const failure = result.verdict;
  if (failure.abandoned) {
    context.counters.failed += 1;
    context.log.warn('delivery abandoned', { ...fields, subscriber: trigger.subscriber, reason: failure.reason });
    return;
  }
  if (!policy.deadLetterSink) {
    context.counters.failed += 1;
    context.log.warn('undeliverable: no dead-letter sink, event dropped', {
      ...fields,
      subscriber: trigger.subscriber,
      code: failure.code,
      reason: failure.reason,
    });
    return;
  }

  const deadLettered = withDeliveryError(outgoing, trigger.subscriber, failure.code, failure.body);
  const deadLetter = encodeFor(deadLettered, policy);
  // Knative sends to the dead-letter sink with the same retry policy.
  const sunk = await attemptWithRetries(context, {
    url: policy.deadLetterSink,
    event: deadLettered,
    trigger,
    deadLetterSink: true,
    message: { headers: { ...headers, ...deadLetter.headers, [KN_NAMESPACE]: trigger.namespace }, body: deadLetter.body },
    policy,
    judge: judgeSinkResponse,
    fields: { ...fields, subscriber: policy.deadLetterSink, deadLetterSink: true },
  });
  if (sunk.verdict.ok) {
    context.counters.deadLettered += 1;
    context.log.warn('dead-lettered', {
      ...fields,
      subscriber: trigger.subscriber,
      deadLetterSink: policy.deadLetterSink,
      code: failure.code,
      reason: failure.reason,
    });
  } else {
    context.counters.failed += 1;
    context.log.error('undeliverable: the dead-letter sink failed too, event dropped', {
      ...fields,
      subscriber: trigger.subscriber,
      deadLetterSink: policy.deadLetterSink,
      reason: sunk.verdict.reason,
    });
  }
}

function encodeFor(event: BrokerEvent, policy: DeliveryPolicy): HttpMessage {
  return encodeMessage(event, policy.format === 'json' ? 'structured' : 'binary');
}

async function attemptWithRetries(context: DispatchContext, target: AttemptTarget): Promise<{ verdict: Verdict; headers?: IncomingHttpHeaders }> {
  const { policy } = target;
  let last: { verdict: Verdict; status?: number; headers?: IncomingHttpHeaders } | undefined;
  for (let attempt = 1; attempt <= policy.retry + 1; attempt++) {
    if (last) {
      const wait = Math.max(backoffBefore(policy, attempt - 1), retryAfterWait(policy, last.status, last.headers));
      if (!(await sleep(wait, context.signal))) return { verdict: abandoned('the Broker stopped during backoff') };
      context.counters.retried += 1;
    }
    const release = await context.semaphore.acquire();
    const started = performance.now();
    let outcome: { verdict: Verdict; status?: number; headers?: IncomingHttpHeaders };
    try {
      const response = await context.sender.post(target.url, target.message, { timeoutMs: policy.timeoutMs, signal: context.signal });
      outcome = { verdict: target.judge(response), status: response.status, headers: response.headers };
    } catch (err) {
      outcome = { verdict: sendFailure(err) };
    } finally {
      release();
    }
    const { verdict } = outcome;
    const ms = Math.round(performance.now() - started);
    const result = verdict.ok ? (verdict.reply ? 'replied' : 'delivered') : verdict.retryable && attempt <= policy.retry ? 'retrying' : 'failed';
    const reason = verdict.ok ? undefined : verdict.reason;
    context.log.info('delivery', { ...target.fields, status: outcome.status ?? null, attempt, ms, outcome: result, ...(reason ? { reason } : {}) });
    context.observer?.attempted({
      namespace: target.trigger.namespace,
      trigger: target.trigger.name,
      url: target.url,
      deadLetterSink: target.deadLetterSink,
      event: target.event,
      attempt,
      status: outcome.status ?? null,
      ms,
      outcome: result,
      ...(reason ? { reason } : {}),
    });
    if (verdict.ok || !verdict.retryable || verdict.abandoned) return outcome;
    last = outcome;
  }
  return last!;
}

/**
 * A subscriber's answer: 2xx with an empty body is an ack, 2xx with a
 * CloudEvent a reply, 2xx with anything else a failure (Knative's broker
 * filter turns it into a 502, which is retried); other statuses fail, retried
 * or not by Knative's list.
 */
function judgeSubscriberResponse(response: HttpResponse): Verdict {
  if (response.status < 200 || response.status > 299) return statusFailure(response);
  if (contentModeOf(response.headers) === 'none') {
    if (response.body.length === 0) return { ok: true };
    return { ok: false, code: 502, body: response.body, retryable: true, reason: 'a 2xx response with a body that is not a CloudEvent' };
  }
  try {
    return { ok: true, reply: decodeMessage(response.headers, response.body) };
  } catch (err) {
    return { ok: false, code: 502, body: response.body, retryable: true, reason: `a malformed reply: ${(err as Error).message}` };
  }
}

/** A dead-letter sink's answer: any 2xx will do, a reply from it is ignored. */
function judgeSinkResponse(response: HttpResponse): Verdict {
  return response.status >= 200 && response.status <= 299 ? { ok: true } : statusFailure(response);
}

function statusFailure(response: HttpResponse): Verdict {
  return { ok: false, code: response.status, body: response.body, retryable: isRetryable(response.status), reason: `HTTP ${response.status}` };
}

function sendFailure(err: unknown): Verdict {
  if (err instanceof SendError && err.reason === 'aborted') return abandoned(err.message);
  const message = err instanceof Error ? err.message : String(err);
  // Knative reports a request that got no response as a 500 whose data is the dispatch error.
  return { ok: false, code: 500, body: Buffer.from(`dispatch error: ${message}`), retryable: true, reason: message };
}

function abandoned(reason: string): Verdict {
  return { ok: false, code: 500, body: NO_BODY, retryable: false, reason, abandoned: true };
}

/** Waits `ms`; false when the signal aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
