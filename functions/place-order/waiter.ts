/**
 * `Prefer: wait=N`: one LISTEN connection per process hears every order
 * that turns terminal (NOTIFY is sent on commit, from whichever instance
 * made the change) and wakes the requests waiting for it.
 *
 * A request starts watching its order before the transaction that places
 * it, so a change committed after that cannot be missed and no extra read
 * is needed to close the gap between placing and listening.
 */
import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { TERMINAL_CHANNEL } from './domain.js';

export interface OrderWatch {
  /**
   * Resolves true when the order turned terminal since the watch began (or
   * the connection was lost, so the caller reads for itself), false after `ms`.
   */
  until(ms: number): Promise<boolean>;
  /** Stops watching; call it whether or not `until` was used. */
  close(): void;
}

export interface OrderWaiter {
  /** Starts watching `orderId`, once the LISTEN connection is up. */
  watch(orderId: string): Promise<OrderWatch>;
  close(): Promise<void>;
}

export function createOrderWaiter(databaseUrl: string, log: Logger): OrderWaiter {
  const watching = new Map<string, Set<() => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: databaseUrl, application_name: 'place-order-waiter' });
      c.on('notification', (msg) => {
        for (const wake of watching.get(msg.payload ?? '') ?? []) wake();
      });
      c.on('error', (err) => {
        log.warn('order waiter connection lost', { error: err.message });
        client = undefined;
        // Notifications may have been missed: every watcher reads for itself.
        for (const wakers of watching.values()) for (const wake of wakers) wake();
      });
      await c.connect();
      await c.query(`listen ${TERMINAL_CHANNEL}`);
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    async watch(orderId) {
      await connect();
      let woken = false;
      let onWake: (() => void) | undefined;
      const wakers = watching.get(orderId) ?? new Set();
      watching.set(orderId, wakers);
      const wake = () => {
        woken = true;
        onWake?.();
      };
      wakers.add(wake);
      const close = () => {
        wakers.delete(wake);
        if (wakers.size === 0 && watching.get(orderId) === wakers) watching.delete(orderId);
      };
      return {
        until: (ms) =>
          woken
            ? Promise.resolve(true)
            : new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => resolve(false), ms);
                onWake = () => {
                  clearTimeout(timer);
                  resolve(true);
                };
              }),
        close,
      };
    },
    async close() {
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
