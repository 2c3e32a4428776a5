/**
 * The Node stand-in for k6 (./run.ts) runs small k6 scripts against a real
 * HTTP server: blocking requests and batches, checks, custom metrics,
 * setup data, both executors, thresholds and k6's exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, parseArgs, runK6, summarize } from './run.js';

let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = /^\/status\/(\d+)$/.exec(req.url ?? '');
      if (req.url === '/echo') {
        res.writeHead(201, { 'content-type': 'text/plain', 'idempotent-replayed': 'true', 'x-seen': req.headers['x-test'] ?? '' });
        res.end(body);
      } else if (status) {
        res.writeHead(Number(status[1]));
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(path.join(os.tmpdir(), 'k6-node-test-'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** A k6 script in a file, as `k6 run` takes it. */
function script(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

const IMPORTS = `
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
`;

describe('runK6', () => {
  it('runs setup, both executors and teardown, with blocking requests, batches, checks and metrics', async () => {
    const file = script(
      'ok.js',
      `${IMPORTS}
const seen = new Counter('seen');
export const options = {
  scenarios: {
    rate: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 2, maxVUs: 4 },
    each: { executor: 'per-vu-iterations', exec: 'each', vus: 2, iterations: 3 },
  },
  thresholds: { checks: ['rate==1'], seen: ['count==16'], 'http_req_duration{name:ok}': ['max<5000'], http_req_failed: ['rate==0'] },
};
export function setup() { return { base: __ENV.BASE, token: 'from setup' }; }
export default function (data) {
  const res = http.request('GET', data.base + '/ok', null, { tags: { name: 'ok' } });
  check(res, { 'GET /ok → 200 JSON': (r) => r.status === 200 && r.json().ok === true });
  seen.add(1, { iteration: String(exec.scenario.iterationInTest) });
}
export function each(data) {
  const replies = http.batch([
    { method: 'POST', url: data.base + '/echo', body: 'sent', params: { headers: { 'x-test': 'yes' } } },
    { method: 'GET', url: data.base + '/status/404', params: { responseCallback: http.expectedStatuses(404) } },
  ]);
  check(replies[0], { 'batch: 201, the body and headers as k6 names them': (r) => r.status === 201 && r.body === 'sent' && r.headers['Idempotent-Replayed'] === 'true' && r.headers['X-Seen'] === 'yes' });
  check(replies[1], { 'batch: an expected 404': (r) => r.status === 404 });
  sleep(0.05);
  seen.add(1);
}
export function teardown(data) { check(data, { 'teardown gets what setup returned': (d) => d.token === 'from setup' }); }
`,
    );
    const result = await runK6(file, { BASE: base });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.iterationErrors).toEqual([]);
    expect(result.thresholds.every((t) => t.ok)).toBe(true);
    // Each arrival-rate iteration got its own number, from 0.
    const numbers = result.store.select('seen', { scenario: 'rate' }).map((s) => Number(s.tags.iteration));
    expect(numbers.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.store.select('iterations', { scenario: 'each' })).toHaveLength(6);
    expect(result.store.select('checks').map((s) => s.tags.check)).toContain('teardown gets what setup returned');
    // The expected 404 is no failure; an HTTP sample carries the request's tags and k6's own.
    const notFound = result.store.select('http_req_failed', { status: '404' });
    expect(notFound.map((s) => [s.value, s.tags.expected_response])).toEqual(Array.from({ length: 6 }, () => [0, 'true']));
    expect(result.store.select('http_reqs', { name: 'ok', method: 'GET', scenario: 'rate', expected_response: 'true' })).toHaveLength(10);
    expect(summarize(result).join('\n')).toContain('✓ batch: an expected 404');
  });

  it('a failed check crosses the checks threshold: exit code 99', async () => {
    const file = script(
      'fail.js',
      `${IMPORTS}
export const options = { thresholds: { checks: ['rate==1'], http_req_failed: ['rate<0.5'] } };
export default function () {
  const res = http.get(__ENV.BASE + '/status/500');
  check(res, { 'a 500 is not a 200': (r) => r.status === 200 });
}
`,
    );
    const result = await runK6(file, { BASE: base });
    expect(result.exitCode).toBe(EXIT.thresholds);
    expect(result.thresholds.map((t) => [t.metric, t.ok])).toEqual([
      ['checks', false],
      ['http_req_failed', false],
    ]);
    expect(summarize(result).join('\n')).toContain('✗ a 500 is not a 200 (✓ 0 / ✗ 1)');
  });

  it('exec.test.abort ends the run at once: exit code 108, and no more iterations', async () => {
    const file = script(
      'abort.js',
      `${IMPORTS}
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 5 } } };
export default function () {
  exec.test.abort('the end state is broken');
  http.get(__ENV.BASE + '/ok');
}
`,
    );
    const result = await runK6(file, { BASE: base });
    expect(result).toMatchObject({ exitCode: EXIT.aborted, aborted: 'the end state is broken' });
    expect(result.store.select('iterations')).toHaveLength(1);
    expect(result.store.select('http_reqs')).toEqual([]);
  });

  it('an error in setup, or a bad setting read in the init code, is a script error: exit code 107', async () => {
    const setup = script('setup.js', `${IMPORTS}\nexport function setup() { throw new Error('no slot'); }\nexport default function () {}\n`);
    const lines: string[] = [];
    expect((await runK6(setup, {}, (l) => lines.push(l))).exitCode).toBe(EXIT.scriptError);
    expect(lines.join('\n')).toContain('no slot');
    const init = script('init.js', `${IMPORTS}\nif (!__ENV.NEEDED) throw new Error('NEEDED is required');\nexport default function () {}\n`);
    expect((await runK6(init, {})).exitCode).toBe(EXIT.scriptError);
    expect((await runK6(init, { NEEDED: '1' })).exitCode).toBe(EXIT.ok);
  });

  it('a script that imports a k6 module with no shim does not build, and says which', async () => {
    const file = script('ws.js', `import ws from 'k6/ws';\nexport default function () { ws.connect(); }\n`);
    await expect(runK6(file, {})).rejects.toThrow('k6/ws has no shim here');
  });

  it('an iteration that throws is logged and the run goes on, as in k6', async () => {
    const file = script(
      'throws.js',
      `${IMPORTS}
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 2 } } };
export default function () { if (exec.scenario.iterationInTest === 0) throw new Error('first fails'); }
`,
    );
    const result = await runK6(file, {});
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.iterationErrors).toEqual([expect.stringContaining('first fails')]);
    expect(result.store.select('iterations')).toHaveLength(2);
  });

  it('an iteration past its scenario’s graceful stop is interrupted', async () => {
    const file = script(
      'slow.js',
      `${IMPORTS}
export const options = { scenarios: { s: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, gracefulStop: '200ms' } } };
export default function () { sleep(30); }
`,
    );
    const started = Date.now();
    const lines: string[] = [];
    const result = await runK6(file, {}, (l) => lines.push(l));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(lines).toEqual([expect.stringContaining('interrupted')]);
  });
});

describe('parseArgs', () => {
  it('takes the script and -e NAME=value, as k6 run does', () => {
    expect(parseArgs(['load/saga.js', '-e', 'SMOKE=1', '--env', 'BASE_URL=http://x/?a=b'])).toEqual({
      script: 'load/saga.js',
      env: { SMOKE: '1', BASE_URL: 'http://x/?a=b' },
    });
  });

  it.each([[[]], [['-e', 'NOEQUALS', 'a.js']], [['a.js', 'b.js']]])('refuses %j', (argv) => expect(() => parseArgs(argv)).toThrow());
});
