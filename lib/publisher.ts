/**
 * Publishing the outbox to K_SINK (the Broker, injected by a SinkBinding).
 * Events are published right after their transaction commits; any that
 * could not be (Broker down, process killed) stay unpublished in the outbox
 * and the reconciler's sweep publishes them later. Consumers dedupe, so a
 * second publication is harmless.
 */
import { Agent, request } from 'undici';
import { binaryMessage } from './cloudevents.js';
import type { Logger } from './log.js';
import type { SagaEvent } from './messaging.js';
import type { Sql } from './pg.js';
import { publishing } from './tracing/events.js';

export interface Publisher {
  /** Sends `events` to the sink; resolves with the ids it accepted. Never throws. */
  publish(events: readonly SagaEvent[]): Promise<string[]>;
  /** Writes the published marks still pending, and closes the connections. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  sql: Sql;
  /** K_SINK; without it events wait in the outbox for the reconciler. */
  sink: string | undefined;
  log: Logger;
  timeoutMs?: number;
  /** How long published marks gather before one statement writes them (0: at once, before `publish` resolves). */
  markDelayMs?: number;
  /** The `Authorization` header for the sink, when sender authentication is on. */
  authorization?: () => string | undefined;
}

export function createPublisher({ sql, sink, log, timeoutMs = 5000, markDelayMs = 20, authorization }: PublisherOptions): Publisher {
  const agent = new Agent({ keepAliveTimeout: 4000, connections: 64, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  // Published marks gather for a moment and are written together: one
  // statement for many events (losing them only means the sweep sends again).
  let pending: string[] = [];
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    timer = undefined;
    const ids = pending;
    pending = [];
    if (ids.length === 0) return;
    try {
      await markPublished(sql, ids);
    } catch (err) {
      log.warn('could not mark events published', { count: ids.length, error: (err as Error).message });
    }
  };
  const mark = async (ids: string[]) => {
    pending.push(...ids);
    if (markDelayMs === 0) return flush();
    timer ??= setTimeout(() => {
      flushing = flush();
    }, markDelayMs);
  };

  return {
    async publish(events) {
      if (sink === undefined || events.length === 0) return [];
      const sent: string[] = [];
      const auth = authorization?.();
      await Promise.all(
        events.map(async (event) => {
          const message = binaryMessage(event);
          const headers = auth === undefined ? message.headers : { ...message.headers, authorization: auth };
          try {
            const res = await publishing(event, () => request(sink, { method: 'POST', headers, body: message.body, dispatcher: agent }));
            await res.body.dump();
            if (res.statusCode >= 200 && res.statusCode < 300) sent.push(event.id);
            else log.warn('publish refused', { id: event.id, type: event.type, status: res.statusCode });
          } catch (err) {
            log.warn('publish failed', { id: event.id, type: event.type, error: (err as Error).message });
          }
        }),
      );
      if (sent.length > 0) await mark(sent);
      return sent;
    },
    async close() {
      if (timer) clearTimeout(timer);
      await flushing;
      await flush();
      await agent.close();
    },
  };
}

/** Marks `ids` published, without waiting for the disk. */
export async function markPublished(sql: Sql, ids: readonly string[]): Promise<void> {
  await sql.query('select saga_mark_published($1::uuid[])', [ids]);
}

/**
 * Publishes outbox events left unpublished for longer than `olderThanMs`;
 * returns how many were found.
 */
export async function sweepOutbox(sql: Sql, publisher: Publisher, olderThanMs: number, limit = 500): Promise<number> {
  const rows = await sql.query<{ event: SagaEvent }>(
    `select event from outbox where published_at is null and created_at < now() - make_interval(secs => $1)
      order by created_at limit $2`,
    [olderThanMs / 1000, limit],
  );
  await publisher.publish(rows.map((r) => r.event));
  return rows.length;
}
