/**
 * `Prefer: wait=N` on `POST /orders` (SPEC §3): the answer is held until the
 * order's saga is settled (terminal, its letter recorded) or N seconds pass:
 * 201 with the final order, or 202 with the order as it stands. Replays of
 * the same Idempotency-Key get 409 while the answer is held, then the answer.
 *
 * The transaction that settles the saga (notify's, recording the letter)
 * also stores the waited request's final answer and NOTIFYs it on commit
 * (`orders_settle_waiter`). One LISTEN connection per process hears those
 * answers and hands each to the request waiting for it, which replies with
 * it as it is. A request watches its order before the transaction that
 * places it, so a settlement committed after that cannot be missed. When the
 * wait runs out, or the answer did not come with the NOTIFY, the request
 * stores the answer itself (`orders_finish_wait`).
 */
import { replyOf } from '../../lib/commit.js';
import type { RouteReply } from '../../lib/function.js';
import type { Logger } from '../../lib/log.js';
import type { IdempotentOutcome } from '../../lib/messaging.js';
import type { Client } from 'pg';
import { pg, type Sql } from '../../lib/pg.js';
import { SETTLED_CHANNEL } from './domain.js';

/** The longest `Prefer: wait` honoured, in seconds (SPEC §3). */
export const MAX_WAIT_SECONDS = 30;

/** Replays are held off this much longer than the wait itself, in case the holder dies. */
const HOLD_MARGIN_SECONDS = 5;

/** Seconds asked for with `Prefer: wait=N`, capped; undefined when not asked. */
export function preferredWait(prefer: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])wait=(\d+)/i.exec(prefer ?? '');
  return match ? Math.min(Number(match[1]), MAX_WAIT_SECONDS) : undefined;
}

/** Places an order, and waits for its saga when asked to. */
export interface SagaWaiter {
  /**
   * Runs `place` (the idempotent placement, holding replays off for the
   * seconds it is given) while watching `orderId`; with `wait`, answers once
   * the saga is settled or `wait` seconds pass, and stores that answer for
   * replays.
   */
  place(orderId: string, wait: number | undefined, place: (holdSeconds: number) => Promise<IdempotentOutcome & { key: string; scope: string }>): Promise<RouteReply>;
  close(): Promise<void>;
}

/** A waited order's final answer, as its settlement stored and NOTIFYed it. */
interface Answer {
  status: number;
  body: unknown;
}

export function createSagaWaiter(sql: Sql, databaseUrl: string, log: Logger): SagaWaiter {
  const watching = new Map<string, Set<(answer?: Answer) => void>>();
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;

  const wakeAll = () => {
    for (const wakers of watching.values()) for (const wake of wakers) wake();
  };
  const listen = (): Promise<Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: databaseUrl, application_name: 'place-order-waiter' });
      c.on('notification', (msg) => {
        const payload = msg.payload ?? '';
        const settled = payload.startsWith('{') ? (JSON.parse(payload) as Answer & { orderId: string }) : undefined;
        for (const wake of watching.get(settled?.orderId ?? payload) ?? []) wake(settled && { status: settled.status, body: settled.body });
      });
      c.on('error', (err) => {
        log.warn('order waiter connection lost', { error: err.message });
        client = undefined;
        // Notifications may have been missed: every waiter reads for itself.
        wakeAll();
      });
      await c.connect();
      await c.query(`listen ${SETTLED_CHANNEL}`);
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  /** Resolves when `orderId` settles (with its answer, when it came) or `ms` pass; `stop` ends the watch. */
  const watch = (orderId: string) => {
    let woken = false;
    let answer: Answer | undefined;
    let onWake: (() => void) | undefined;
    const wakers = watching.get(orderId) ?? new Set();
    watching.set(orderId, wakers);
    const wake = (settled?: Answer) => {
      woken = true;
      answer ??= settled;
      onWake?.();
    };
    wakers.add(wake);
    return {
      until: (ms: number) =>
        woken
          ? Promise.resolve(answer)
          : new Promise<Answer | undefined>((resolve) => {
              const timer = setTimeout(() => resolve(undefined), ms);
              onWake = () => {
                clearTimeout(timer);
                resolve(answer);
              };
            }),
      stop() {
        wakers.delete(wake);
        if (wakers.size === 0 && watching.get(orderId) === wakers) watching.delete(orderId);
      },
    };
  };

  return {
    async place(orderId, wait, place) {
      if (wait === undefined) {
        const outcome = await place(0);
        return replyOf(outcome);
      }
      await listen();
      const watched = watch(orderId);
      try {
        const outcome = await place(wait + HOLD_MARGIN_SECONDS);
        if (outcome.replayed || outcome.status >= 400) return replyOf(outcome);
        let final: Answer = outcome;
        try {
          const status = (outcome.body as { status?: string }).status;
          const settled = status === 'cancelled' || status === 'confirmed' ? undefined : await watched.until(wait * 1000);
          final = settled ?? (await sql.one<Answer>('select * from orders_finish_wait($1, $2, $3)', [outcome.scope, outcome.key, orderId]))!;
        } catch (err) {
          // The order is placed; replays get the answer stored with it once the hold expires.
          log.warn('could not store the final answer of a waited order; its hold expires instead', { error: (err as Error).message });
        }
        return { status: final.status, body: final.body, headers: { 'Preference-Applied': `wait=${wait}` } };
      } finally {
        watched.stop();
      }
    },
    async close() {
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
