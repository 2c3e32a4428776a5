import pg from 'pg';
import { CloudEvent } from 'cloudevents';
import { startEmbeddedPostgres, freePort } from '../local/postgres.js';
import { createDb, withDatabase } from '../lib/db.js';
import { migrateLatest } from '../migrations/index.js';
import { createSql } from '../lib/pg.js';
import { consume, fingerprintOf, idempotent } from '../lib/messaging.js';
import { markPublished } from '../lib/publisher.js';
import { createMailer } from '../lib/mailer.js';
import { notifyCustomer } from '../functions/notify/domain.js';
import { readEvent } from '../events/index.js';
import { newId } from '../lib/ids.js';
const server = await startEmbeddedPostgres({ dataDir: '/tmp/pgb/data2', port: await freePort(), persistent: false, flags: [] });
const admin = new pg.Client({ connectionString: server.adminUrl }); await admin.connect();
await admin.query('create database prof'); await admin.end();
const url = server.urlFor('prof');
const db = createDb({ url }); await migrateLatest(db); await db.destroy();
const sql = createSql({ url, poolMax: 8 });
const mailer = createMailer({ mode: 'dry-run', region: 'us-east-1', from: 'a@b.c' });
const accounts: string[] = [];
for (let i = 0; i < 8; i++) { const id = newId(); await sql.query('select accounts_open($1::json)', [JSON.stringify({ accountId: id, email: `${id}@x.y`, name: 'N' })]); await sql.query('select deposit_add($1::json)', [JSON.stringify({ accountId: id, depositId: newId(), amount: 100000000 })]); accounts.push(id); }
const slot = newId(); await sql.query('select slots_create($1::json)', [JSON.stringify({ slotId: slot, name: 's', capacity: 1000000, price: 100 })]);
async function order(acc: string) {
  const input = { orderId: newId(), accountId: acc, slotId: slot, seats: 1, payWithin: 0 };
  const { events } = await idempotent(sql, 'place-order', { scope: acc, key: newId(), fingerprint: 'f' }, 'orders_request', input);
  await markPublished(sql, events.map((e) => e.id));
  let ev: any = events[0];
  for (const [fn, step, name] of [['reserve-slot', 'slots_reserve', 'order.placed'], ['charge', 'charge_order', 'slot.reserved'], ['place-order', 'orders_confirm', 'payment.charged']] as const) {
    const inc = readEvent(new CloudEvent(ev), [name]); ev = (await consume(sql, fn, inc, newId(), step, inc.data)).events[0];
  }
  const inc = readEvent(new CloudEvent(ev), ['order.confirmed']);
  await sql.transaction((tx) => notifyCustomer(tx, mailer, { letter: 'happy', order: inc.data as never }, (s, d, on) => consume(on, 'notify', inc, newId(), s, d)));
  await sql.query('select * from orders_finish_wait($1, $2, $3)', [acc, 'nokey', input.orderId]);
}
const N = Number(process.env.N ?? 400);
console.log('READY', process.pid); await new Promise((r) => setTimeout(r, Number(process.env.PAUSE ?? 0)));

const t = Date.now();
await Promise.all(accounts.map(async (a) => { for (let i = 0; i < N / 8; i++) await order(a); }));
console.log('orders/s', (N / ((Date.now() - t) / 1000)).toFixed(1));
await sql.end(); await server.stop();
