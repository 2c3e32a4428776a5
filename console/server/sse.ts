/**
 * The live feed over Server-Sent Events (WHATWG HTML §9.2): each item one
 * message whose `id` is its sequence number, so the browser's automatic
 * reconnect (`Last-Event-ID`) resumes exactly after the last item it got.
 *
 * Bounded: at most `maxClients` streams; a client that reads too slowly
 * (more than `maxBufferedBytes` waiting in its socket) is cut off and
 * resumes on reconnect from what the feed still holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TransientError } from '../../lib/errors.js';
import type { FeedGap } from './api-types.js';
import type { Entry, LiveFeed } from './feed.js';

export interface StreamOptions {
  /** Open streams at most (default 16). */
  maxClients?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
  /** Bytes waiting to be sent to one client before it is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Items a new stream starts with (default 500). */
  initialItems?: number;
  /** How long a browser waits before reconnecting (default 2 s). */
  retryMs?: number;
}

export interface FeedStreams {
  /** Streams the feed to `res` until the client goes or `close` is called. @throws TransientError when too many are open */
  serve(req: IncomingMessage, res: ServerResponse, owner: string): void;
  /** Ends every stream of one owner (a session that ended). */
  closeOwner(owner: string): void;
  closeAll(): void;
  count(): number;
}

/** One SSE message. JSON escapes line breaks, so `data` is always one line. */
export function frame(event: string, data: string, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;
}

/** The sequence number a reconnecting client last got, or undefined for a new stream. */
export function lastEventId(req: IncomingMessage): number | undefined {
  const raw = req.headers['last-event-id'];
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

export function createFeedStreams(feed: LiveFeed, options: StreamOptions = {}): FeedStreams {
  const maxClients = options.maxClients ?? 16;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const initialItems = options.initialItems ?? 500;
  const retryMs = options.retryMs ?? 2000;
  const open = new Map<ServerResponse, { owner: string; stop(): void }>();

  function serve(req: IncomingMessage, res: ServerResponse, owner: string): void {
    if (open.size >= maxClients) throw new TransientError(`${maxClients} live streams are open already; close one and retry`);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // ingress-nginx (and nginx in general) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    let closed = false;
    // The replay is allowed its own size on top of the bound, so a large replay never cuts a fresh stream.
    let allowance = maxBuffered;
    const write = (chunk: string) => {
      if (closed) return;
      res.write(chunk);
      if (res.writableLength > allowance) stop(true);
    };
    const send = (entry: Entry) => write(frame(entry.item.kind, entry.json, entry.item.seq));

    const replay: string[] = [`retry: ${retryMs}\n\n`];
    const after = lastEventId(req);
    // Replay and subscribe in one turn of the event loop: no item can fall between them.
    const { entries, missed } = after === undefined ? { entries: feed.latest(initialItems), missed: 0 } : feed.since(after);
    if (missed > 0) replay.push(frame('gap', JSON.stringify({ missed } satisfies FeedGap)));
    for (const entry of entries) replay.push(frame(entry.item.kind, entry.json, entry.item.seq));
    const text = replay.join('');
    allowance += Buffer.byteLength(text);
    res.write(text);
    const unsubscribe = feed.subscribe(send);
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();

    function stop(abort = false): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      open.delete(res);
      // A slow client is cut at once (its backlog dropped); others end cleanly.
      if (abort) res.destroy();
      else res.end();
    }
    open.set(res, { owner, stop });
    res.on('close', () => stop());
  }

  return {
    serve,
    closeOwner(owner) {
      for (const stream of [...open.values()]) if (stream.owner === owner) stream.stop();
    },
    closeAll() {
      for (const stream of [...open.values()]) stream.stop();
    },
    count: () => open.size,
  };
}
