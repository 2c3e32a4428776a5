/**
 * Delivery of one event to one Trigger's subscriber, as Knative's channel
 * dispatcher and broker filter do it together (eventing
 * `pkg/kncloudevents/event_dispatcher.go`, `pkg/broker/filter/filter_handler.go`):
 * attempts with retries and backoff; a reply handed back to the Broker's
 * ingress; and after the last failed attempt, or a reply the ingress refused,
 * the original event (its TTL included, as the channel holds it) to the
 * dead-letter sink, or a logged drop. Also the HTTP client that sends the
 * attempts, and the semaphore that bounds a Trigger's attempts in flight.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { Context } from '@opentelemetry/api';
import type { Logger } from '../../lib/log.js';
import type { BrokerTracing, DeliverySpan } from '../../lib/tracing/broker.js';
import { backoffBefore, isRetryable, type DeliverySpec, type TriggerModel } from '../../knative/model/index.js';
import { contentModeOf, decodeMessage, DEFAULT_TTL, encodeMessage, KN_NAMESPACE, passThroughHeaders, PREFER, TTL, ttlOf, withDeliveryError, withExtensions } from './events.js';
import type { BrokerEvent, HttpMessage, IngressError } from './events.js';

/**
 * A Trigger ready to dispatch: the model's, its subscriber (exactly as resolved: the `knativeerrordest` of a failure) and
 * dead-letter sink as URLs, the OIDC subject it sends as and the audiences of both (none: no token is sent).
 */
export type TriggerRoute = Omit<TriggerModel, 'subscriber'> & { subscriber: string; deadLetterSink?: string; identity: string; subscriberAudience?: string; deadLetterSinkAudience?: string };

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
  log: Logger;
  observer?: BrokerObserver;
  tracing: BrokerTracing;
  /** The Broker's counters; the dispatcher adds to them. */
  counters: Record<'delivered' | 'replied' | 'retried' | 'deadLettered' | 'failed', number>;
  /** Aborted when a drain runs out of time: deliveries stop where they are. */
  signal: AbortSignal;
  /** The in-flight limit of a Trigger's subscriber: resolves once a place is free, with the function that gives it back. */
  acquire(): Promise<() => void>;
  /** Publishes a subscriber's reply into the Trigger's Broker; the ingress's refusal, if it refuses. */
  reply(event: BrokerEvent, headers: Record<string, string>, carrier: Record<string, string>): IngressError | undefined;
  /** The ingress URL of the Trigger's Broker, where replies go. */
  brokerUrl(): string;
  /** With sender authentication on: the `Authorization` header of `subject` for `audience`. */
  authorization?: (subject: string, audience: string) => Promise<string>;
}

/** How an attempt ended, judged by Knative's rules; `code` is reported as `knativeerrorcode` (500 when nothing came back). */
type Failure = { ok: false; code: number; body: Buffer; retryable: boolean; reason: string; abandoned?: boolean };
type Verdict = { ok: true; reply?: BrokerEvent } | Failure;

/** Where an attempt goes, with the event as the subscriber or sink sees it (for the observer); `panic` fails every attempt unsent. */
type AttemptTarget = {
  url: string;
  audience: string | undefined;
  event: BrokerEvent;
  deadLetterSink: boolean;
  message: HttpMessage;
  judge: (response: HttpResponse) => Verdict;
  fields: Record<string, unknown>;
  panic?: string;
};

/**
 * Delivers `event` (as the ingress accepted it, TTL included) to the Trigger's subscriber. Never rejects: every
 * outcome is counted and logged. With `panic` (the broker filter crashed on the event) no attempt gets an answer,
 * and the dead letter carries no error extensions: the channel finds none in the crashed filter's empty response.
 */
export async function deliver(
  context: DispatchContext,
  trigger: TriggerRoute,
  event: BrokerEvent,
  headers: Record<string, string>,
  traced: Context,
  panic?: string,
): Promise<void> {
  // The TTL is the Broker's own bookkeeping: subscribers never see it, and a
  // reply gets it back (decremented again at the ingress).
  const outgoing = withExtensions(event, { [TTL]: undefined });
  const span = context.tracing.delivery(traced, trigger, outgoing.attributes);
  const fields = { namespace: trigger.namespace, trigger: trigger.name, type: outgoing.attributes.type, id: outgoing.attributes.id };
  const mode = trigger.delivery.format === 'json' ? 'structured' : 'binary';
  const message = encodeMessage(outgoing, mode);
  const result = await attemptWithRetries(context, trigger, span, {
    url: trigger.subscriber,
    audience: trigger.subscriberAudience,
    event: outgoing,
    deadLetterSink: false,
    message: { headers: { ...headers, ...message.headers, [PREFER]: 'reply', [KN_NAMESPACE]: trigger.namespace }, body: message.body },
    judge: judgeSubscriberResponse,
    fields: { ...fields, subscriber: trigger.subscriber },
    panic,
  });

  let failure: Failure & { destination: string };
  let sinkHeaders = headers;
  if (result.verdict.ok) {
    if (!result.verdict.reply) return void ((context.counters.delivered += 1), span.end('delivered'));
    context.counters.replied += 1;
    const replyHeaders = passThroughHeaders(result.headers ?? {});
    // The reply enters the Broker in the context of the attempt that brought it back.
    const refused = context.reply(withExtensions(result.verdict.reply, { [TTL]: ttlOf(event) ?? DEFAULT_TTL }), replyHeaders, result.trace);
    if (!refused) return void ((context.counters.delivered += 1), span.end('replied'));
    // The reply goes to the Broker's ingress as one more request; when it is refused, Knative
    // dead-letters the original with the Broker as the destination that failed.
    context.log.warn('reply refused by the Broker ingress', { ...fields, status: refused.status, reason: refused.message });
    failure = { ok: false, code: refused.status, body: Buffer.from(refused.message), retryable: false, reason: refused.message, destination: context.brokerUrl() };
    sinkHeaders = replyHeaders;
  } else {
    failure = { ...result.verdict, destination: trigger.subscriber };
  }
  if (failure.abandoned || !trigger.deadLetterSink) {
    context.counters.failed += 1;
    const why = failure.abandoned ? 'delivery abandoned' : 'undeliverable: no dead-letter sink, event dropped';
    span.end('failed', `${why}: ${failure.reason}`);
    return context.log.warn(why, { ...fields, subscriber: trigger.subscriber, code: failure.code, reason: failure.reason });
  }
  span.deadLettered(failure.destination, failure.code, failure.reason);

  const deadLettered = panic ? event : withDeliveryError(event, failure.destination, failure.code, failure.body);
  const deadLetter = encodeMessage(deadLettered, mode);
  // Knative sends to the dead-letter sink with the same retry policy.
  const sunk = await attemptWithRetries(context, trigger, span, {
    url: trigger.deadLetterSink,
    audience: trigger.deadLetterSinkAudience,
    event: deadLettered,
    deadLetterSink: true,
    message: { headers: { ...sinkHeaders, ...deadLetter.headers, [KN_NAMESPACE]: trigger.namespace }, body: deadLetter.body },
    judge: (response) => (response.status >= 200 && response.status <= 299 ? { ok: true } : statusFailure(response)),
    fields: { ...fields, subscriber: trigger.deadLetterSink, deadLetterSink: true },
  });
  const outcome = { ...fields, subscriber: trigger.subscriber, deadLetterSink: trigger.deadLetterSink, code: failure.code, reason: failure.reason };
  if (sunk.verdict.ok) {
    context.counters.deadLettered += 1;
    span.end('dead-lettered', failure.reason);
    context.log.warn('dead-lettered', outcome);
  } else {
    context.counters.failed += 1;
    span.end('failed', `the dead-letter sink failed too: ${sunk.verdict.reason}`);
    context.log.error('undeliverable: the dead-letter sink failed too, event dropped', { ...outcome, reason: sunk.verdict.reason });
  }
}

type Attempted = { verdict: Verdict; status?: number; headers?: IncomingHttpHeaders; trace: Record<string, string> };

async function attemptWithRetries(context: DispatchContext, trigger: TriggerRoute, span: DeliverySpan, target: AttemptTarget): Promise<Attempted> {
  const policy = trigger.delivery;
  let last: Attempted | undefined;
  for (let attempt = 1; attempt <= policy.retry + 1; attempt++) {
    if (last) {
      const wait = Math.max(backoffBefore(policy, attempt - 1), retryAfterWait(policy, last.status, last.headers));
      if (!(await sleep(wait, context.signal))) return { verdict: abandoned('the Broker stopped during backoff'), trace: {} };
      context.counters.retried += 1;
    }
    const release = await context.acquire();
    const started = performance.now();
    const send = span.attempt(target.url, attempt, target.deadLetterSink);
    let outcome: Attempted;
    try {
      if (target.panic) throw new Error(target.panic);
      // With sender authentication on, the Trigger's token for the target's audience (`pkg/kncloudevents`).
      const { authorization } = context;
      const token = authorization && target.audience !== undefined ? { authorization: await authorization(trigger.identity, target.audience) } : undefined;
      const message = { headers: { ...target.message.headers, ...token, ...send.headers }, body: target.message.body };
      const response = await context.sender.post(target.url, message, { timeoutMs: policy.timeoutMs, signal: context.signal });
      outcome = { verdict: target.judge(response), status: response.status, headers: response.headers, trace: send.headers };
    } catch (err) {
      outcome = { verdict: sendFailure(err), trace: send.headers };
    } finally {
      release();
    }
    const { verdict } = outcome;
    const ms = Math.round(performance.now() - started);
    const result = verdict.ok ? (verdict.reply ? 'replied' : 'delivered') : verdict.retryable && attempt <= policy.retry ? 'retrying' : 'failed';
    const reason = verdict.ok ? undefined : { reason: verdict.reason };
    const status = outcome.status ?? null;
    send.end({ status, outcome: result, ...reason });
    context.log.info('delivery', { ...target.fields, status, attempt, ms, outcome: result, ...reason });
    const { url, deadLetterSink, event } = target;
    context.observer?.attempted({ namespace: trigger.namespace, trigger: trigger.name, url, deadLetterSink, event, attempt, status, ms, outcome: result, ...reason });
    if (verdict.ok || !verdict.retryable || verdict.abandoned) return outcome;
    last = outcome;
  }
  return last!;
}

/**
 * A subscriber's answer: 2xx with an empty body is an ack, 2xx with a
 * CloudEvent a reply (checked by the ingress it goes to, as in Knative), 2xx
 * with anything else a failure (the broker filter's 502, which is retried);
 * other statuses fail, retried or not by Knative's list.
 */
function judgeSubscriberResponse(response: HttpResponse): Verdict {
  if (response.status < 200 || response.status > 299) return statusFailure(response);
  if (contentModeOf(response.headers) === 'none') {
    if (response.body.length === 0) return { ok: true };
    return { ok: false, code: 502, body: response.body, retryable: true, reason: 'a 2xx response with a body that is not a CloudEvent' };
  }
  try {
    return { ok: true, reply: decodeMessage(response.headers, response.body, false) };
  } catch (err) {
    return { ok: false, code: 502, body: response.body, retryable: true, reason: `a malformed reply: ${(err as Error).message}` };
  }
}

function statusFailure(response: HttpResponse): Failure {
  return { ok: false, code: response.status, body: response.body, retryable: isRetryable(response.status), reason: `HTTP ${response.status}` };
}

function sendFailure(err: unknown): Failure {
  if (err instanceof SendError && err.reason === 'aborted') return abandoned(err.message);
  const message = err instanceof Error ? err.message : String(err);
  // Knative reports a request that got no response as a 500 whose data is the dispatch error.
  return { ok: false, code: 500, body: Buffer.from(`dispatch error: ${message}`), retryable: true, reason: message };
}

const abandoned = (reason: string): Failure => ({ ok: false, code: 500, body: Buffer.alloc(0), retryable: false, reason, abandoned: true });

/** The wait a 429/503 asks for in `Retry-After` (seconds or an HTTP date), when the policy honours it. */
export function retryAfterWait(policy: DeliverySpec, status: number | undefined, headers: IncomingHttpHeaders | undefined, now = Date.now()): number {
  if (policy.retryAfterMaxMs === undefined || (status !== 429 && status !== 503)) return 0;
  const raw = headers?.['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  const wait = !value ? 0 : /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(wait) && wait > 0 ? Math.min(wait, policy.retryAfterMaxMs) : 0;
}

/** Waits `ms`; false when the signal aborts first. */
async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms > 0 && !signal.aborted) await delay(ms, undefined, { signal }).catch(() => undefined);
  return !signal.aborted;
}

/** What a subscriber answered. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request that ended without a complete response: timed out, abandoned (the Broker stopped), failed, or answered too much. */
export class SendError extends Error {
  override name = 'SendError';
  constructor(
    message: string,
    readonly reason: 'timeout' | 'aborted' | 'network' | 'too-large',
    /** A kept-alive connection the server had already closed: safe to send again at once. */
    readonly staleConnection = false,
  ) {
    super(message);
  }
}

/** Sends events over pooled connections. */
export interface Sender {
  /** @throws {SendError} when no complete response arrives. */
  post(url: string, message: HttpMessage, options: { timeoutMs?: number; signal: AbortSignal }): Promise<HttpResponse>;
  /** Closes pooled connections. */
  close(): void;
}

/**
 * A sender with its own connection pools: one HTTP POST of an event per call, over keep-alive connections,
 * with a limit on the whole exchange. node:http rather than fetch: measured here, fetch costs three times the CPU per delivery.
 */
export function createSender(maxResponseBytes: number): Sender {
  // Idle connections close before a Node server's default 5 s keep-alive timeout, so the pool rarely hands out one the server dropped.
  const agents = { http: new http.Agent({ keepAlive: true, timeout: 4_000 }), https: new https.Agent({ keepAlive: true, timeout: 4_000 }) };
  const once = (url: URL, message: HttpMessage, timeoutMs: number | undefined, signal: AbortSignal) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const abandoned = () => new SendError('delivery abandoned: the Broker is shutting down', 'aborted');
      if (signal.aborted) return reject(abandoned());
      const secure = url.protocol === 'https:';
      const headers = { ...message.headers, 'content-length': String(message.body.length) };
      const request = (secure ? https : http).request(url, { method: 'POST', agent: secure ? agents.https : agents.http, headers });
      let settled = false;
      // The exchange is cut short and answered at once (the first outcome is the one reported). The request is
      // destroyed without the error: an error passed on is emitted on the socket a tick later, and if the response
      // ended meanwhile (the whole body came in the chunk that went over the limit) the socket is no longer the
      // request's and nothing hears it.
      const fail = (error: SendError) => {
        request.destroy();
        settle(() => reject(error));
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => fail(new SendError(`no response within ${timeoutMs} ms`, 'timeout')), timeoutMs);
      const onAbort = () => fail(abandoned());
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const failed = (err: Error, responded: boolean) =>
        settle(() => {
          const code = (err as NodeJS.ErrnoException).code;
          const stale = !responded && request.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
          reject(new SendError(err.message || 'connection failed', 'network', stale));
        });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if ((size += chunk.length) > maxResponseBytes) fail(new SendError(`response body over ${maxResponseBytes} bytes`, 'too-large'));
          else chunks.push(chunk);
        });
        response.on('end', () => settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })));
        response.on('error', (err) => failed(err, true));
        response.on('close', () => response.complete || failed(new Error('response ended early'), true));
      });
      request.on('error', (err) => failed(err, false));
      request.end(message.body);
    });

  return {
    async post(url, message, { timeoutMs, signal }) {
      const target = new URL(url);
      try {
        return await once(target, message, timeoutMs, signal);
      } catch (err) {
        // A pooled connection closed by the server under our feet is not the subscriber failing: send once more on a fresh one.
        if (err instanceof SendError && err.staleConnection) return once(target, message, timeoutMs, signal);
        throw err;
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** A counting semaphore: at most `limit` holders, the rest wait first come, first served. */
export function semaphore(limit: number): () => Promise<() => void> {
  let holders = 0;
  const waiting: (() => void)[] = [];
  return async () => {
    if (holders < limit) holders += 1;
    // The releasing holder hands its place straight to us.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    return () => {
      const next = waiting.shift();
      if (next) next();
      else holders -= 1;
    };
  };
}
