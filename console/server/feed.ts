/**
 * The live feed: every event through the Broker and every delivery attempt,
 * kept in a ring bounded by count and by size, numbered so a client that
 * reconnects resumes where it stopped. Locally it is the Broker's observer;
 * in a cluster it is fed the events the console's catch-all Trigger
 * delivers (no delivery outcomes there).
 */
import type { BrokerObserver, DeliveryAttempt } from '../../local/broker/index.js';
import type { BrokerEvent } from '../../local/broker/events.js';
import type { DeliveryItem, EventItem, FeedItem } from './api-types.js';

export interface FeedLimits {
  /** Items held at most (default 2,000). */
  maxItems: number;
  /** Size held at most, in bytes of JSON, reckoned (default 8 MiB). */
  maxBytes: number;
  /** Data kept per event, in bytes; longer data is cut (default 16 KiB). */
  maxDataBytes: number;
}

export const DEFAULT_FEED_LIMITS: FeedLimits = { maxItems: 2000, maxBytes: 8 * 1024 * 1024, maxDataBytes: 16 * 1024 };

/** An item with its JSON, serialized once for every client. */
export interface Entry {
  readonly item: FeedItem;
  readonly json: string;
}

/**
 * An item whose JSON is made when a client first needs it, so the Broker
 * pays nothing for serialization while nobody watches. Its size, for the
 * feed's byte bound, is reckoned from its strings: close to its JSON's
 * length without making it.
 */
class FeedEntry implements Entry {
  private serialized: string | undefined;
  readonly size: number;
  constructor(readonly item: FeedItem) {
    this.size = sizeOf(item);
  }
  get json(): string {
    this.serialized ??= JSON.stringify(this.item);
    return this.serialized;
  }
}

/** About the length of an item's JSON: its strings, and a margin for the names and punctuation. */
function sizeOf(item: FeedItem): number {
  if (item.kind === 'delivery') return 260 + item.url.length + item.trigger.length + item.event.id.length + item.event.source.length + item.event.type.length + (item.reason?.length ?? 0);
  let size = 160 + (item.data?.length ?? 0);
  for (const [name, value] of Object.entries(item.attributes)) size += name.length + String(value).length + 8;
  return size;
}

export type FeedListener = (entry: Entry) => void;

export interface LiveFeed {
  readonly limits: FeedLimits;
  /** Hand this to `createBroker({ observer })` (every Broker of the stack, restarts included). */
  readonly observer: BrokerObserver;
  /** An event delivered to the console itself (cluster mode). */
  received(event: BrokerEvent): void;
  /** Items after `seq`, oldest first, and how many after it are no longer held. */
  since(seq: number): { entries: Entry[]; missed: number };
  /** The newest `count` items, oldest first. */
  latest(count: number): Entry[];
  /** Delivery attempts still held of the events with these ids. */
  attemptsOf(eventIds: ReadonlySet<string>): DeliveryItem[];
  /** Calls `listener` with each new item until the returned function is called. */
  subscribe(listener: FeedListener): () => void;
  /** Items and bytes held now. */
  size(): { items: number; bytes: number };
}

const TEXT_MEDIA = /^(application\/([\w.+-]*\+)?json|text\/[\w.+-]+|application\/([\w.+-]*\+)?xml)\s*(;|$)/i;

/** The data of an event as the feed keeps it: text when it is text, cut at `max` bytes. */
export function dataOf(event: BrokerEvent, max: number): Pick<EventItem, 'data' | 'dataEncoding' | 'dataTruncated'> {
  if (event.data === undefined) return { data: null, dataEncoding: 'utf8', dataTruncated: false };
  const contentType = String(event.attributes.datacontenttype ?? 'application/json');
  const truncated = event.data.length > max;
  const bytes = truncated ? event.data.subarray(0, max) : event.data;
  if (TEXT_MEDIA.test(contentType)) {
    // A cut may split a character; the decoder marks it rather than failing.
    return { data: bytes.toString('utf8'), dataEncoding: 'utf8', dataTruncated: truncated };
  }
  return { data: bytes.toString('base64'), dataEncoding: 'base64', dataTruncated: truncated };
}

const text = (value: unknown): string | null => (value === undefined ? null : String(value));

export function createLiveFeed(limits: Partial<FeedLimits> = {}, now: () => Date = () => new Date()): LiveFeed {
  const bounds = { ...DEFAULT_FEED_LIMITS, ...limits };
  // A ring over an array: `first` is the index of the oldest entry.
  const ring: FeedEntry[] = [];
  let first = 0;
  let bytes = 0;
  let nextSeq = 1;
  const listeners = new Set<FeedListener>();

  const count = () => ring.length - first;
  const at = (i: number) => ring[first + i]!;

  function evictOne(): void {
    bytes -= ring[first]!.size;
    first += 1;
    // Compact now and then, so the array does not grow without end.
    if (first > 1024 && first * 2 > ring.length) {
      ring.splice(0, first);
      first = 0;
    }
  }

  function push(item: FeedItem): void {
    const entry = new FeedEntry(item);
    ring.push(entry);
    bytes += entry.size;
    while (count() > bounds.maxItems || (bytes > bounds.maxBytes && count() > 1)) evictOne();
    for (const listener of listeners) {
      try {
        listener(entry);
      } catch {
        // A listener's failure is its own; the Broker must never see it.
      }
    }
  }

  function eventItem(event: BrokerEvent, reply: boolean | null): EventItem {
    return { kind: 'event', seq: nextSeq++, at: now().toISOString(), reply, attributes: { ...event.attributes }, ...dataOf(event, bounds.maxDataBytes) };
  }

  function deliveryItem(a: DeliveryAttempt): DeliveryItem {
    const attrs = a.event.attributes;
    return {
      kind: 'delivery',
      seq: nextSeq++,
      at: now().toISOString(),
      namespace: a.namespace,
      trigger: a.trigger,
      url: a.url,
      deadLetterSink: a.deadLetterSink,
      event: { id: String(attrs.id), source: String(attrs.source), type: String(attrs.type), subject: text(attrs.subject) },
      attempt: a.attempt,
      status: a.status,
      ms: a.ms,
      outcome: a.outcome,
      reason: a.reason ?? null,
    };
  }

  return {
    limits: bounds,
    observer: {
      accepted: (event, where) => push(eventItem(event, where.reply)),
      attempted: (attempt) => push(deliveryItem(attempt)),
    },
    received: (event) => push(eventItem(event, null)),
    since(seq) {
      const n = count();
      if (n === 0) return { entries: [], missed: Math.max(0, nextSeq - 1 - seq) };
      const oldest = at(0).item.seq;
      const start = Math.max(0, seq + 1 - oldest);
      const entries = ring.slice(first + start);
      return { entries, missed: Math.max(0, oldest - seq - 1) };
    },
    latest(wanted) {
      return ring.slice(Math.max(first, ring.length - wanted));
    },
    attemptsOf(eventIds) {
      const found: DeliveryItem[] = [];
      for (let i = first; i < ring.length; i++) {
        const item = ring[i]!.item;
        if (item.kind === 'delivery' && eventIds.has(item.event.id)) found.push(item);
      }
      return found;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    size: () => ({ items: count(), bytes }),
  };
}
