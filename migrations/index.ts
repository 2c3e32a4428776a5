/**
 * The migrations, listed statically so they run the same from source, from
 * the bundle and in the container image. A test checks that every migration
 * file in this folder is listed.
 */
import type { Knex } from 'knex';
import type { Db } from '../lib/db.js';
import { messagingRoutines, stepNamesOf, stepWrappers } from '../lib/messaging.sql.js';
import { FUNCTIONS } from '../functions/registry.js';
import * as createAccounts from './20261121000001_create_accounts.js';
import * as createSlots from './20261121000002_create_slots.js';
import * as createOrders from './20261121000003_create_orders.js';
import * as createNotifications from './20261121000004_create_notifications.js';
import * as createMessaging from './20261121000005_create_messaging.js';
import * as recordDecisions from './20261121000006_record_decisions.js';
import * as holdIdempotentResponses from './20261121000007_hold_idempotent_responses.js';
import * as reconcileBackoff from './20261121000008_reconcile_backoff.js';
import * as waitForFunds from './20261202000009_wait_for_funds.js';
import * as keepTraceContext from './20261202000010_keep_trace_context.js';
import * as settleWaitedOrders from './20261203000011_settle_waited_orders.js';

export const migrations: Record<string, Knex.Migration> = {
  '20261121000001_create_accounts': createAccounts,
  '20261121000002_create_slots': createSlots,
  '20261121000003_create_orders': createOrders,
  '20261121000004_create_notifications': createNotifications,
  '20261121000005_create_messaging': createMessaging,
  '20261121000006_record_decisions': recordDecisions,
  '20261121000007_hold_idempotent_responses': holdIdempotentResponses,
  '20261121000008_reconcile_backoff': reconcileBackoff,
  '20261202000009_wait_for_funds': waitForFunds,
  '20261202000010_keep_trace_context': keepTraceContext,
  '20261203000011_settle_waited_orders': settleWaitedOrders,
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

/**
 * Every server-side routine: the messaging mechanism, each function's
 * steps, and each step's wrappers (lib/messaging.sql.ts). They are `create
 * or replace`, applied after the migrations on every run, so a routine's
 * source is the one in the code.
 */
const FUNCTION_ROUTINES = FUNCTIONS.flatMap((fn) => fn.routines);
export const ROUTINES: readonly string[] = [
  messagingRoutines,
  ...FUNCTION_ROUTINES,
  ...stepNamesOf([messagingRoutines, ...FUNCTION_ROUTINES]).map(stepWrappers),
];

/** Brings the schema to the newest migration and installs the routines; returns the migrations applied. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  await db.transaction(async (trx) => {
    // Two starts at once install one after the other.
    await trx.raw("select pg_advisory_xact_lock(hashtextextended('ordersaga routines', 0))");
    for (const routine of ROUTINES) await trx.raw(routine);
  });
  return applied;
}

/** The names of the routines, as their `create or replace function` says. */
export const ROUTINE_NAMES: readonly string[] = ROUTINES.flatMap((sql) => [...sql.matchAll(/create or replace function (\w+)\s*\(/gi)].map((m) => m[1]!));

/** Drops the routines, then rolls every migration back (each `down`, newest first). */
export async function migrateDownAll(db: Db): Promise<void> {
  // Routines that take a table's row type depend on the table.
  for (const name of ROUTINE_NAMES) await db.raw(`drop function if exists ${name} cascade`);
  await db.migrate.rollback({ migrationSource }, true);
}
