/**
 * Runs the migrations against DATABASE_URL (`up` by default, `down` to roll
 * everything back). In a cluster this is the migrations Job.
 */
import { opt, readConfig } from '../lib/config.js';
import { createDb } from '../lib/db.js';
import { migrateDownAll, migrateLatest } from '../migrations/index.js';

const { databaseUrl } = readConfig({ databaseUrl: opt.url('DATABASE_URL', 'PostgreSQL connection URL') });
const db = createDb({ url: databaseUrl, poolMax: 1, applicationName: 'ordersaga-migrate' });
try {
  if (process.argv[2] === 'down') {
    await migrateDownAll(db);
    console.log('rolled back every migration');
  } else {
    const applied = await migrateLatest(db);
    console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'schema is up to date');
  }
} finally {
  await db.destroy();
}
