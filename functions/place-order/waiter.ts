/**
 * `Prefer: wait=N`: one LISTEN connection per process hears every order
 * that turns terminal (NOTIFY is sent on commit, from whichever instance
 * made the change) and wakes the requests waiting for it.
 */
import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { TERMINAL_CHANNEL } from './domain.js';

export interface OrderWaiter {
  /**
   * Resolves true when `orderId` turns terminal within `ms`, false on timeout.
   * `isTerminal` is checked after listening starts, so no change is missed.
   */
  wait(orderId: string, ms: number, isTerminal: () => Promise<boolean>): Promise<boolean>;
  close(): Promise<void>;
}

export function createOrderWaiter(databaseUrl: string, log: Logger): OrderWaiter {
  const waiting = new Map<string, Set<() => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: databaseUrl, application_name: 'place-order-waiter' });
      c.on('notification', (msg) => {
        for (const wake of waiting.get(msg.payload ?? '') ?? []) wake();
      });
      c.on('error', (err) => {
        log.warn('order waiter connection lost', { error: err.message });
        client = undefined;
        // Waiters fall back to their timeout and their own final read.
        for (const wakers of waiting.values()) for (const wake of wakers) wake();
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
    async wait(orderId, ms, isTerminal) {
      await connect();
      return new Promise<boolean>((resolve) => {
        const wakers = waiting.get(orderId) ?? new Set();
        waiting.set(orderId, wakers);
        const done = (value: boolean) => {
          clearTimeout(timer);
          wakers.delete(wake);
          if (wakers.size === 0) waiting.delete(orderId);
          resolve(value);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        wakers.add(wake);
        isTerminal().then(
          (terminal) => terminal && done(true),
          () => undefined,
        );
      });
    },
    async close() {
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
