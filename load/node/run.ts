/**
 * Runs a k6 script on Node, where no k6 binary can be had (SPEC §9): the
 * script and its imports are bundled with esbuild, its `k6/*` imports served
 * by the shims in ./k6/, and each VU is a worker thread whose calls block as
 * in k6. It follows k6 v0.48's run: init, `setup()`, the scenarios
 * (`constant-arrival-rate`, `per-vu-iterations`), `teardown(data)`, then the
 * thresholds and k6's exit codes (99 thresholds, 107 script error, 108
 * aborted).
 *
 * It is a stand-in for checking the scripts' logic against a running stack,
 * not a load generator: every VU's HTTP goes through the main thread.
 *
 *   npx tsx load/node/run.ts load/saga.js -e ADMIN_TOKEN=... -e SMOKE=1
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { durationSeconds } from '../lib.js';
import { MetricStore, type ThresholdResult } from './metrics.js';
import { Vu, type CallResult } from './vus.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHIMS = new Set(['k6', 'k6/http', 'k6/crypto', 'k6/execution', 'k6/metrics']);

/** The k6 exit codes these runs can end with. */
export const EXIT = { ok: 0, thresholds: 99, scriptError: 107, aborted: 108 } as const;

interface Scenario {
  executor: string;
  exec?: string;
  startTime?: string;
  gracefulStop?: string;
  rate?: number;
  timeUnit?: string;
  duration?: string;
  preAllocatedVUs?: number;
  maxVUs?: number;
  vus?: number;
  iterations?: number;
  maxDuration?: string;
}

interface Options {
  scenarios?: Record<string, Scenario>;
  thresholds?: Record<string, string[]>;
}

export interface RunResult {
  exitCode: number;
  store: MetricStore;
  thresholds: ThresholdResult[];
  /** Errors thrown by iterations (k6 logs them and goes on). */
  iterationErrors: string[];
  aborted: string | undefined;
  seconds: number;
}

const ms = (duration: string | undefined, fallback: string) => durationSeconds(duration ?? fallback) * 1000;
const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));

/** The script with the shims, as one ES module a worker can load. */
async function bundle(script: string, dir: string): Promise<URL> {
  const shims: Plugin = {
    name: 'k6-shims',
    setup(b) {
      b.onResolve({ filter: /^k6(\/.*)?$/ }, (args) => {
        if (!SHIMS.has(args.path)) return { errors: [{ text: `${args.path} has no shim here (only ${[...SHIMS].join(', ')})` }] };
        return { path: path.join(here, 'k6', args.path === 'k6' ? 'index.ts' : `${args.path.slice(3)}.ts`) };
      });
    },
  };
  const entry = [
    `import ${JSON.stringify(path.join(here, 'env.ts'))};`,
    `import * as script from ${JSON.stringify(path.resolve(script))};`,
    `import { serve } from ${JSON.stringify(path.join(here, 'vu.ts'))};`,
    'serve(script);',
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: 'ts', sourcefile: 'k6-entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    write: false,
    logLevel: 'silent',
    plugins: [shims],
  });
  const file = path.join(dir, 'script.mjs');
  writeFileSync(file, result.outputFiles[0]!.text);
  return pathToFileURL(file);
}

/** Starts scenarios, setup and teardown in VUs, and keeps the tally. */
class Run {
  readonly store = new MetricStore();
  readonly iterationErrors: string[] = [];
  aborted: string | undefined;
  private readonly vus: Vu[] = [];
  private nextId = 1;

  constructor(
    private readonly bundleUrl: URL,
    private readonly env: Record<string, string>,
    private readonly log: (line: string) => void,
  ) {}

  async vu(): Promise<Vu> {
    const vu = new Vu(this.bundleUrl, this.nextId++, this.env, this.store, (reason) => {
      this.aborted ??= reason;
    });
    this.vus.push(vu);
    await vu.ready;
    return vu;
  }

  private async iteration(vu: Vu, fn: string, data: string | undefined, scenario: string, iteration: number): Promise<void> {
    const started = performance.now();
    const done = await vu.call(fn, data, scenario, iteration);
    this.store.add([
      { metric: 'iterations', kind: 'counter', value: 1, tags: { scenario } },
      { metric: 'iteration_duration', kind: 'trend', value: performance.now() - started, tags: { scenario } },
    ]);
    if (done.error && !done.aborted && !done.interrupted) {
      this.iterationErrors.push(done.error);
      this.log(`iteration error (${scenario} #${iteration}): ${done.error}`);
    }
  }

  /** Waits for the running iterations for up to `graceMs`, then interrupts the rest (their VUs end). */
  private async drain(running: Map<Vu, Promise<void>>, graceMs: number, scenario: string): Promise<void> {
    const all = Promise.all(running.values()).then(() => true);
    if (await Promise.race([all, pause(graceMs).then(() => false)])) return;
    this.log(`${scenario}: ${running.size} iteration(s) still running after the graceful stop: interrupted`);
    await Promise.all([...running.keys()].map((vu) => vu.stop()));
  }

  /** `constant-arrival-rate`: an iteration every timeUnit / rate, on an idle VU (a new one up to maxVUs), else dropped. */
  async arrivalRate(name: string, sc: Scenario, data: string | undefined): Promise<void> {
    const every = ms(sc.timeUnit, '1s') / (sc.rate ?? 1);
    const starts = Math.floor(ms(sc.duration, '0s') / every);
    const idle: Vu[] = [];
    for (let i = 0; i < (sc.preAllocatedVUs ?? 1); i++) idle.push(await this.vu());
    let size = idle.length;
    const running = new Map<Vu, Promise<void>>();
    const begin = performance.now();
    let started = 0;
    for (let k = 0; k < starts && this.aborted === undefined; k++) {
      await pause(begin + k * every - performance.now());
      let vu = idle.pop();
      if (vu === undefined && size < (sc.maxVUs ?? size)) {
        size += 1;
        vu = await this.vu();
      }
      if (vu === undefined) {
        this.store.add([{ metric: 'dropped_iterations', kind: 'counter', value: 1, tags: { scenario: name } }]);
        continue;
      }
      const own = vu;
      running.set(
        own,
        this.iteration(own, sc.exec ?? 'default', data, name, started++).then(() => {
          running.delete(own);
          idle.push(own);
        }),
      );
    }
    await this.drain(running, ms(sc.gracefulStop, '30s'), name);
  }

  /** `per-vu-iterations`: each of `vus` VUs runs `iterations` iterations, all within maxDuration. */
  async perVuIterations(name: string, sc: Scenario, data: string | undefined): Promise<void> {
    let next = 0;
    const running = new Map<Vu, Promise<void>>();
    const until = performance.now() + ms(sc.maxDuration, '10m');
    for (let i = 0; i < (sc.vus ?? 1); i++) {
      const vu = await this.vu();
      running.set(
        vu,
        (async () => {
          for (let n = 0; n < (sc.iterations ?? 1) && this.aborted === undefined && performance.now() < until; n++) {
            await this.iteration(vu, sc.exec ?? 'default', data, name, next++);
          }
          running.delete(vu);
        })(),
      );
    }
    await this.drain(running, until - performance.now() + ms(sc.gracefulStop, '30s'), name);
  }

  async scenario(name: string, sc: Scenario, data: string | undefined): Promise<void> {
    await pause(ms(sc.startTime, '0s'));
    if (sc.executor === 'constant-arrival-rate') return this.arrivalRate(name, sc, data);
    if (sc.executor === 'per-vu-iterations') return this.perVuIterations(name, sc, data);
    throw new Error(`scenario ${name}: the executor ${sc.executor} is not run here`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.vus.map((vu) => vu.stop()));
  }
}

/** What k6 prints at the end, shortly: every metric, each check's passes and fails, every threshold. */
export function summarize(result: RunResult): string[] {
  const lines: string[] = [];
  const checks = new Map<string, { pass: number; fail: number }>();
  for (const s of result.store.select('checks')) {
    const c = checks.get(s.tags.check ?? '') ?? { pass: 0, fail: 0 };
    if (s.value) c.pass += 1;
    else c.fail += 1;
    checks.set(s.tags.check ?? '', c);
  }
  for (const [name, c] of checks) lines.push(`  ${c.fail === 0 ? '✓' : '✗'} ${name}${c.fail === 0 ? '' : ` (✓ ${c.pass} / ✗ ${c.fail})`}`);
  lines.push('');
  for (const name of result.store.names()) {
    const summary = result.store.summary(name, result.seconds)!;
    const values = Object.entries(summary.values).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`);
    lines.push(`  ${name.padEnd(40, '.')} ${values.join(' ')}`);
  }
  lines.push('');
  for (const t of result.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric}: ${t.expression} (${t.actual === undefined ? 'no samples' : t.actual})`);
  if (result.aborted) lines.push(`  aborted: ${result.aborted}`);
  if (result.iterationErrors.length > 0) lines.push(`  ${result.iterationErrors.length} iteration(s) threw`);
  lines.push(`  exit code ${result.exitCode}`);
  return lines;
}

/** Runs `script` as `k6 run -e NAME=value ...` would. */
export async function runK6(script: string, env: Record<string, string>, log: (line: string) => void = () => {}): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'k6-node-'));
  const started = performance.now();
  let bundled: URL;
  try {
    bundled = await bundle(script, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const run = new Run(bundled, env, log);
  const finish = (exitCode: number, thresholds: ThresholdResult[] = []): RunResult => ({
    exitCode,
    store: run.store,
    thresholds,
    iterationErrors: run.iterationErrors,
    aborted: run.aborted,
    seconds: (performance.now() - started) / 1000,
  });
  const scriptError = (what: string, done: CallResult) => {
    if (done.aborted) return finish(EXIT.aborted);
    log(`${what}: ${done.error}`);
    return finish(EXIT.scriptError);
  };
  try {
    let control: Vu;
    try {
      control = await run.vu();
    } catch (err) {
      log(`init: ${(err as Error).stack ?? String(err)}`);
      return finish(EXIT.scriptError);
    }
    const { options, exports } = await control.ready;
    const opts = options as Options;
    let data: string | undefined;
    if (exports.includes('setup')) {
      const done = await control.call('setup', undefined, 'setup', 0);
      if (done.error || run.aborted) return scriptError('setup', done);
      data = done.result;
    }
    const scenarios = opts.scenarios ?? { default: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } };
    await Promise.all(Object.entries(scenarios).map(([name, sc]) => run.scenario(name, sc, data)));
    if (exports.includes('teardown')) {
      const done = await control.call('teardown', data, 'teardown', 0);
      if (done.error && !done.aborted) return scriptError('teardown', done);
    }
    if (run.aborted) return finish(EXIT.aborted);
    const seconds = (performance.now() - started) / 1000;
    const thresholds = run.store.thresholds(opts.thresholds ?? {}, seconds);
    return finish(thresholds.every((t) => t.ok) ? EXIT.ok : EXIT.thresholds, thresholds);
  } finally {
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `run.ts <script> [-e NAME=value]...` */
export function parseArgs(argv: readonly string[]): { script: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  let script: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-e' || arg === '--env') {
      const pair = argv[++i] ?? '';
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`-e takes NAME=value, got ${JSON.stringify(pair)}`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (script === undefined) script = arg;
    else throw new Error(`one script only, got ${arg} too`);
  }
  if (script === undefined) throw new Error('usage: run.ts <script.js> [-e NAME=value]...');
  return { script, env };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { script, env } = parseArgs(process.argv.slice(2));
  const result = await runK6(script, env, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`\n${script}\n${summarize(result).join('\n')}\n`);
  process.exit(result.exitCode);
}
