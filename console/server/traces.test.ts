/**
 * Traces from a trace store over HTTP (the tracing work's receiver, here a
 * small server with a fixture), and the console's routes for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Trace } from './api-types.js';
import { FIXTURE_ORDER_ID, fixtureTrace } from './trace-fixture.js';
import { consoleClient, serveHandler, startTestConsole, type TestConsole } from './testing.js';
import { httpTraceSource, isTrace } from './traces.js';

describe('traces', () => {
  const trace = fixtureTrace();
  let store: Awaited<ReturnType<typeof serveHandler>>;
  let t: TestConsole;

  beforeAll(async () => {
    store = await serveHandler((req, res) => {
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === `/traces/${trace.traceId}` || req.url === `/orders/${FIXTURE_ORDER_ID}/trace`) return json(200, trace);
      if (req.url === '/traces/broken') return json(200, { traceId: 'broken', spans: [{ name: 'no ids' }] });
      if (req.url === '/traces/failing') return json(500, { title: 'oops' });
      return json(404, { title: 'Not Found' });
    });
    t = await startTestConsole({ traces: httpTraceSource(store.url) });
  });
  afterAll(async () => {
    await t.close();
    await store.close();
  });

  it('reads a trace by its id and an order’s trace', async () => {
    const source = httpTraceSource(store.url);
    expect(await source.trace(trace.traceId)).toEqual(trace);
    expect(await source.orderTrace(FIXTURE_ORDER_ID)).toEqual(trace);
  });

  it('reads a trace the store has not got as none recorded', async () => {
    expect(await httpTraceSource(store.url).trace('0'.repeat(32))).toBeUndefined();
  });

  it.each([
    ['answers something that is not a trace', 'broken'],
    ['fails', 'failing'],
  ])('fails with 503 when the store %s', async (_name, id) => {
    await expect(httpTraceSource(store.url).trace(id)).rejects.toMatchObject({ status: 503 });
  });

  it('fails with 503 when the store is not there', async () => {
    await expect(httpTraceSource('http://127.0.0.1:1').trace('x')).rejects.toMatchObject({ status: 503, message: expect.stringContaining('not answering') });
  });

  it('checks the shape the store promises', () => {
    expect(isTrace(trace)).toBe(true);
    const span = trace.spans[0]!;
    for (const bad of [
      null,
      { traceId: 't' },
      { traceId: 't', spans: [{ ...span, kind: 'sideways' }] },
      { traceId: 't', spans: [{ ...span, startUnixNano: 1.5 }] },
      { traceId: 't', spans: [{ ...span, status: 'fine' }] },
      { traceId: 't', spans: [{ ...span, links: undefined }] },
    ]) {
      expect(isTrace(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('serves them to a signed-in page, and says when none was recorded', async () => {
    const client = consoleClient(t.url);
    await client.signIn();
    expect(((await client.call('GET', `/api/orders/${FIXTURE_ORDER_ID}/trace`)).body as Trace).traceId).toBe(trace.traceId);
    expect(((await client.call('GET', `/api/traces/${trace.traceId}`)).body as Trace).spans).toHaveLength(trace.spans.length);
    const none = await client.call('GET', `/api/traces/${'0'.repeat(32)}`);
    expect(none.status).toBe(404);
    expect((none.body as { detail: string }).detail).toBe(`No trace was recorded for trace ${'0'.repeat(32)}`);
  });
});
