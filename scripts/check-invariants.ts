/**
 * `npm run check`: SPEC §7's invariants over the database in DATABASE_URL
 * (or the local stand-in's), printed; exits 1 on a violation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '../lib/db.js';
import { checkInvariants } from '../lib/invariants.js';

function localDatabaseUrl(): string | undefined {
  try {
    const dataDir = process.env.ORDERSAGA_DATA_DIR ?? path.join(process.cwd(), '.data');
    return (JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as { databaseUrl?: string }).databaseUrl;
  } catch {
    return undefined;
  }
}

const url = process.env.DATABASE_URL || localDatabaseUrl();
if (!url) {
  console.error('Set DATABASE_URL, or start the local stack (npm start) first.');
  process.exit(2);
}
const db = createDb({ url, poolMax: 1, applicationName: 'ordersaga-check' });
try {
  const report = await checkInvariants(db, { settled: process.argv.includes('--settled') });
  console.log(JSON.stringify(report.counts));
  for (const v of report.violations) console.log(`invariant ${v.invariant} violated: ${v.detail}`);
  console.log(report.ok ? 'all six invariants hold' : `${report.violations.length} violations`);
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await db.destroy();
}
