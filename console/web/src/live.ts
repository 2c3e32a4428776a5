/**
 * The page's side of the live feed: rows of events, each with its delivery
 * attempts, newest first, capped so a long session cannot fill the tab's
 * memory; a pause that holds new items (capped too) until resumed.
 */
import type { DeliveryItem, EventItem, FeedItem } from '../../server/api-types.js';

export interface EventRow {
  item: EventItem;
  deliveries: DeliveryItem[];
}

export interface LiveLimits {
  /** Rows kept at most; the oldest go (default 1,000). */
  maxRows: number;
  /** Items held while paused at most; beyond, the oldest held are dropped (default 1,000). */
  maxHeld: number;
  /** Attempts kept per row (default 50). */
  maxDeliveries: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = { maxRows: 1000, maxHeld: 1000, maxDeliveries: 50 };

/** (source, id): what identifies an event, and what its delivery attempts name. */
export const keyOf = (source: unknown, id: unknown) => `${String(source)}\n${String(id)}`;

export class LiveStore {
  /** Newest last (reversed for display). */
  private rows: EventRow[] = [];
  private byKey = new Map<string, EventRow>();
  private held: FeedItem[] = [];
  private listeners = new Set<() => void>();
  private itemListeners = new Set<(item: FeedItem) => void>();
  readonly limits: LiveLimits;
  paused = false;
  /** Items lost: dropped while paused beyond the cap, or missed by the server across a reconnect. */
  missed = 0;
  connected = false;
  /** Bumped on every change, for views that re-render on it. */
  version = 0;

  constructor(limits: Partial<LiveLimits> = {}) {
    this.limits = { ...DEFAULT_LIVE_LIMITS, ...limits };
  }

  /** Every row, newest first. */
  list(): EventRow[] {
    return [...this.rows].reverse();
  }

  /** The rows of events about `subject`, oldest first. */
  about(subject: string): EventRow[] {
    return this.rows.filter((r) => r.item.attributes.subject === subject);
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Takes one item from the stream. */
  add(item: FeedItem): void {
    for (const listener of this.itemListeners) listener(item);
    if (this.paused) {
      this.held.push(item);
      if (this.held.length > this.limits.maxHeld) {
        this.held.shift();
        this.missed += 1;
      }
      this.changed();
      return;
    }
    this.apply(item);
    this.changed();
  }

  /** The server no longer held `count` items this page had not seen. */
  gap(count: number): void {
    this.missed += count;
    this.changed();
  }

  setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.changed();
  }

  pause(): void {
    this.paused = true;
    this.changed();
  }

  resume(): void {
    this.paused = false;
    for (const item of this.held.splice(0)) this.apply(item);
    this.changed();
  }

  /** Calls `listener` after every change. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with every item as it arrives, paused or not (to follow a replay or a send). */
  onItem(listener: (item: FeedItem) => void): () => void {
    this.itemListeners.add(listener);
    return () => this.itemListeners.delete(listener);
  }

  private apply(item: FeedItem): void {
    if (item.kind === 'event') {
      const row = { item, deliveries: [] };
      this.rows.push(row);
      // A later event under the same (source, id), a replay, takes the attempts that follow.
      this.byKey.set(keyOf(item.attributes.source, item.attributes.id), row);
      while (this.rows.length > this.limits.maxRows) {
        const old = this.rows.shift()!;
        const key = keyOf(old.item.attributes.source, old.item.attributes.id);
        if (this.byKey.get(key) === old) this.byKey.delete(key);
      }
      return;
    }
    const row = this.byKey.get(keyOf(item.event.source, item.event.id));
    if (!row) return;
    row.deliveries.push(item);
    if (row.deliveries.length > this.limits.maxDeliveries) row.deliveries.shift();
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}

/** The stream's events, fed into `store`; returns a function that closes it. */
export function connect(store: LiveStore, url = 'api/stream', open: (url: string) => EventSource = (u) => new EventSource(u)): () => void {
  const source = open(url);
  const take = (e: Event) => store.add(JSON.parse((e as MessageEvent<string>).data) as FeedItem);
  source.addEventListener('event', take);
  source.addEventListener('delivery', take);
  source.addEventListener('gap', (e) => store.gap((JSON.parse((e as MessageEvent<string>).data) as { missed: number }).missed));
  source.addEventListener('open', () => store.setConnected(true));
  // The browser reconnects by itself (sending Last-Event-ID); the page only shows it is away.
  source.addEventListener('error', () => store.setConnected(false));
  return () => source.close();
}

/** A one-line account of an event's deliveries: per Trigger, its last attempt. */
export function deliverySummary(row: EventRow): { trigger: string; attempts: number; status: number | null; outcome: DeliveryItem['outcome']; deadLettered: boolean; ms: number }[] {
  const byTrigger = new Map<string, DeliveryItem[]>();
  for (const d of row.deliveries) byTrigger.set(d.trigger, [...(byTrigger.get(d.trigger) ?? []), d]);
  return [...byTrigger].map(([trigger, attempts]) => {
    const toSubscriber = attempts.filter((a) => !a.deadLetterSink);
    const last = toSubscriber.at(-1) ?? attempts.at(-1)!;
    return {
      trigger,
      attempts: toSubscriber.length,
      status: last.status,
      outcome: last.outcome,
      deadLettered: attempts.some((a) => a.deadLetterSink && a.outcome === 'delivered'),
      ms: last.ms,
    };
  });
}
