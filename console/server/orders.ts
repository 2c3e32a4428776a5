/**
 * Orders and their saga, read straight from the database, read-only. The
 * outbox holds every event each function produced, by `subject`, so an
 * order's whole history is there, even what happened before the console
 * started; each function's inbox says when it took each of them.
 */
import pg from 'pg';
import { UUID_PATTERN } from '../../lib/ids.js';
import type { Order, SagaEvent } from './api-types.js';

export interface OrderSource {
  /** The newest orders first. */
  recent(limit: number): Promise<Order[]>;
  /** An order and every event about it, oldest first; undefined when there is no such order. */
  get(id: string): Promise<{ order: Order; events: SagaEvent[] } | undefined>;
  /** Resolves when the database answers. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface OrderSourceOptions {
  databaseUrl: string;
  /** Consumers whose inbox is read (every function): the inbox is keyed by consumer first. */
  consumers: readonly string[];
  poolMax?: number;
}

interface OrderRow {
  id: string;
  account_id: string;
  slot_id: string;
  seats: number;
  amount: string | number;
  status: Order['status'];
  reason: Order['reason'];
  pay_within: number;
  payment_deadline: Date | null;
  created_at: Date;
  updated_at: Date;
  reconcile_attempts: number | null;
}

interface EventJson {
  id: string;
  type: string;
  source: string;
  at: string;
  publishedAt: string | null;
  delivery: 'reply' | 'sink';
  event: Record<string, unknown>;
  consumedBy: { consumer: string; at: string }[];
}

const TYPE_PREFIX = 'dev.ordersaga.';
const SOURCE_PREFIX = '/ordersaga/';
const iso = (value: string | Date) => new Date(value).toISOString();

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    accountId: row.account_id,
    slotId: row.slot_id,
    seats: row.seats,
    amount: Number(row.amount),
    status: row.status,
    reason: row.reason,
    payWithin: row.pay_within,
    paymentDeadline: row.payment_deadline && iso(row.payment_deadline),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    reconcileAttempts: row.reconcile_attempts ?? 0,
  };
}

function toSagaEvent(e: EventJson): SagaEvent {
  return {
    id: e.id,
    name: e.type.startsWith(TYPE_PREFIX) ? e.type.slice(TYPE_PREFIX.length) : e.type,
    type: e.type,
    source: e.source,
    producer: e.source.startsWith(SOURCE_PREFIX) ? e.source.slice(SOURCE_PREFIX.length) : null,
    at: iso(e.at),
    publishedAt: e.publishedAt === null ? null : iso(e.publishedAt),
    delivery: e.delivery,
    consumedBy: e.consumedBy.map((c) => ({ consumer: c.consumer, at: iso(c.at) })),
    event: e.event,
  };
}

// One round trip: the order, its events as JSON, and for each event the
// inbox rows of the functions that took it (by the inbox's primary key:
// consumer, source, id).
const ORDER_WITH_EVENTS = `
  select o.*, coalesce((
    select json_agg(json_build_object(
             'id', e.id, 'type', e.type, 'source', e.source, 'at', e.created_at,
             'publishedAt', e.published_at, 'delivery', e.delivery, 'event', e.event,
             'consumedBy', coalesce((
               select json_agg(json_build_object('consumer', i.consumer, 'at', i.received_at) order by i.received_at)
               from inbox i where i.consumer = any($2::text[]) and i.source = e.source and i.id = e.id::text), '[]'::json))
           order by e.created_at, e.id)
    from outbox e where e.subject = o.id::text), '[]'::json) as events
  from orders o where o.id = $1`;

/** The console's connections: few, and read only (the server refuses any write on them). */
export function poolConfig(databaseUrl: string, poolMax: number): pg.PoolConfig {
  return {
    connectionString: databaseUrl,
    max: poolMax,
    application_name: 'console',
    options: '-c default_transaction_read_only=on',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  };
}

export function createOrderSource({ databaseUrl, consumers, poolMax = 2 }: OrderSourceOptions): OrderSource {
  const pool = new pg.Pool(poolConfig(databaseUrl, poolMax));
  // An idle connection the server closed is dropped by the pool; the next query opens another.
  pool.on('error', () => undefined);
  return {
    async recent(limit) {
      const { rows } = await pool.query<OrderRow>('select * from orders order by created_at desc, id limit $1', [limit]);
      return rows.map(toOrder);
    },
    async get(id) {
      if (!UUID_PATTERN.test(id)) return undefined;
      const { rows } = await pool.query<OrderRow & { events: EventJson[] }>(ORDER_WITH_EVENTS, [id, consumers]);
      const row = rows[0];
      return row ? { order: toOrder(row), events: row.events.map(toSagaEvent) } : undefined;
    },
    async ready() {
      await pool.query('select 1');
    },
    close: () => pool.end(),
  };
}
