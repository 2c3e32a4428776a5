/**
 * The console's JSON, as the server sends it and the page reads it. Types
 * only: the page imports this file too, so it must stay free of Node.
 */
import type { Order as PlacedOrder } from '../../functions/place-order/order.js';

/** A context attribute value as the Broker carries it. */
export type AttributeValue = string | number | boolean;

/** An event through the Broker (or, in a cluster, delivered to the console). */
export interface EventItem {
  kind: 'event';
  /** Position in the feed; also the SSE `id`, so a reconnect resumes after it. */
  seq: number;
  /** When the console saw it (RFC 3339). */
  at: string;
  /** A subscriber's reply taken back into the Broker; null when not known (in a cluster). */
  reply: boolean | null;
  attributes: Record<string, AttributeValue>;
  /** The data as text (UTF-8), or base64 when it is not text; null without data. */
  data: string | null;
  dataEncoding: 'utf8' | 'base64';
  /** The data was longer than the feed keeps; `data` is its beginning. */
  dataTruncated: boolean;
}

/** One attempt to deliver an event to a Trigger's subscriber or dead-letter sink (local stand-in only). */
export interface DeliveryItem {
  kind: 'delivery';
  seq: number;
  at: string;
  namespace: string;
  trigger: string;
  url: string;
  deadLetterSink: boolean;
  event: { id: string; source: string; type: string; subject: string | null };
  attempt: number;
  status: number | null;
  ms: number;
  outcome: 'delivered' | 'replied' | 'retrying' | 'failed';
  reason: string | null;
}

export type FeedItem = EventItem | DeliveryItem;

/** Sent on the stream when a reconnect asked for items the feed no longer holds. */
export interface FeedGap {
  /** How many items were lost between the client's last and the oldest still held. */
  missed: number;
}

/** `GET api/session`: who is signed in, and what this console can see. */
export interface SessionInfo {
  /** Echo it in `X-CSRF-Token` on every request that changes something. */
  csrfToken: string;
  /** `local`: the stand-in's Broker observer; `cluster`: events from a catch-all Trigger. */
  mode: 'local' | 'cluster';
  /** Whether delivery outcomes (attempts, status, latency) are visible. */
  deliveries: boolean;
  /** The bounds the server keeps the feed within. */
  feed: { maxItems: number; maxBytes: number; maxDataBytes: number };
}

/** The saga as data: each function, what it consumes and emits. */
export interface SagaMap {
  functions: { name: string; consumes: string[]; emits: string[] }[];
  /** Event names that undo an earlier step, with what they undo. */
  compensations: Record<string, string>;
  /** The functions an order's saga runs through, in the order it reaches them: the lanes of an order's view. */
  orderLanes: string[];
  /** The saga as a Mermaid flowchart, generated from the registry (the README shows the same). */
  diagram: string;
}

/** An order as place-order answers it, and how often the reconciler drove it on. */
export interface Order extends Omit<PlacedOrder, 'history'> {
  reconcileAttempts: number;
}

/** One event of an order's saga, as its producer wrote it to the outbox. */
export interface SagaEvent {
  id: string;
  /** Catalogue name (`order.placed`), or the full type when it is not in the catalogue. */
  name: string;
  type: string;
  source: string;
  /** The function that produced it (`/ordersaga/<function>`), when it is one. */
  producer: string | null;
  at: string;
  publishedAt: string | null;
  /** Handed back as a reply to a delivery, or posted to the Broker (K_SINK). */
  delivery: 'reply' | 'sink';
  /** Which functions took it, and when (their inbox). */
  consumedBy: { consumer: string; at: string }[];
  /** The whole CloudEvent (attributes and data). */
  event: Record<string, unknown>;
}

/** `GET api/orders/{id}`. */
export interface OrderView {
  order: Order;
  events: SagaEvent[];
  /** Delivery attempts of these events still in the live feed (retries show here). */
  attempts: DeliveryItem[];
  sagaMap: SagaMap;
}

export type { DeadLetter } from '../../functions/dead-letters/dead-letter.js';

/** `POST api/send` body. */
export interface SendRequest {
  /** Catalogue name, e.g. `order.requested`. */
  name: string;
  subject: string;
  data: unknown;
}

/** `POST api/send` answer: the event as sent. */
export interface SendResult {
  id: string;
  source: string;
  type: string;
  subject: string;
}

/** A span, as the trace store serves it (OTLP's model, times in Unix nanoseconds as strings). */
export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  startUnixNano: string;
  endUnixNano: string;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Record<string, unknown>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes?: Record<string, unknown> }[];
}

export interface Trace {
  traceId: string;
  spans: Span[];
}
