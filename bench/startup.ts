/**
 * `npm run bench:startup`: time from `npm start` to ready, and the whole
 * stack's resident memory at rest. The first start (initdb) is run and
 * reported apart; the figures are the median of the starts after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStackProcess } from '../test/stack-process.js';
import { treeRssMb } from './rss.js';

const RUNS = Number(process.env.STARTUP_RUNS ?? 3);
const REST_MS = Number(process.env.STARTUP_REST_MS ?? 5000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-startup-'));
try {
  const first = await startStackProcess({ ORDERSAGA_DATA_DIR: dataDir }, 120_000, { keepData: true });
  console.log(`first start (creates the database): ${first.readyMs} ms`);
  await first.stop();
  const ready: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const stack = await startStackProcess({ ORDERSAGA_DATA_DIR: dataDir }, 120_000, { keepData: true });
    await new Promise((r) => setTimeout(r, REST_MS));
    ready.push(stack.readyMs);
    rss.push(treeRssMb(stack.child.pid!));
    console.log(`start ${i + 1}: ready in ${stack.readyMs} ms, ${Math.round(rss.at(-1)!)} MB resident at rest (${stack.processes.length} functions)`);
    await stack.stop();
  }
  console.log(`\nmedian of ${RUNS}: ready in ${median(ready)} ms (target ≤ 5000), ${Math.round(median(rss))} MB at rest (target ≤ 600)`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
