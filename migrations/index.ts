/**
 * The migrations, listed statically so they run the same from source, from
 * the bundle and in the container image. A test checks that every migration
 * file in this folder is listed.
 */
import type { Knex } from 'knex';
import * as createAccounts from './20261121000001_create_accounts.js';
import * as createSlots from './20261121000002_create_slots.js';
import * as createOrders from './20261121000003_create_orders.js';
import * as createNotifications from './20261121000004_create_notifications.js';
import * as createMessaging from './20261121000005_create_messaging.js';
import * as recordDecisions from './20261121000006_record_decisions.js';
import * as holdIdempotentResponses from './20261121000007_hold_idempotent_responses.js';
import * as reconcileBackoff from './20261121000008_reconcile_backoff.js';

export const migrations: Record<string, Knex.Migration> = {
  '20261121000001_create_accounts': createAccounts,
  '20261121000002_create_slots': createSlots,
  '20261121000003_create_orders': createOrders,
  '20261121000004_create_notifications': createNotifications,
  '20261121000005_create_messaging': createMessaging,
  '20261121000006_record_decisions': recordDecisions,
  '20261121000007_hold_idempotent_responses': holdIdempotentResponses,
  '20261121000008_reconcile_backoff': reconcileBackoff,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
