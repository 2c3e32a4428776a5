/**
 * PingSources in the stand-in: every schedule of the shared table is taken or
 * refused exactly as Knative's webhook would (knative/model/cron.testcases.ts),
 * fires when Knative would, and its event goes out as the PingSource adapter
 * sends it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/log.js';
import { CRON_CASES } from '../knative/model/cron.testcases.js';
import { ManifestError, topologyOf, type Manifest } from './manifests.js';
import { startPingSources, type PingScheduler } from './ping.js';

const pingSource = (name: string, spec: Record<string, unknown>): Manifest => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  metadata: { name, namespace: 'ordersaga' },
  spec: { sink: { uri: 'http://127.0.0.1:9/' }, ...spec },
});

describe('PingSource schedules in the stand-in (the shared table)', () => {
  it.each(CRON_CASES)('$schedule (timezone $timezone)', ({ schedule, timezone, refused, next }) => {
    const read = () => topologyOf([pingSource('tick', { schedule, ...(timezone ? { timezone } : {}) })]);
    if (refused) {
      expect(read).toThrow(ManifestError);
      expect(read).toThrow(`PingSource ordersaga/tick: spec.${refused.field}: ${refused.message}`);
      return;
    }
    const [source] = read().pingSources;
    expect(source!.schedule.next(new Date(next![0]))?.toISOString()).toBe(next![1]);
  });
});

describe('PingSources firing', () => {
  let scheduler: PingScheduler | undefined;
  let server: http.Server | undefined;
  afterEach(async () => {
    scheduler?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('fires @hourly in Europe/Berlin at the top of the hour there, with the data bytes as written', async () => {
    const requests: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const arrived = new Promise<void>((resolve) => {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.writeHead(202).end();
          resolve();
        });
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const sink = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;
    const data = '{"task": "reconcile", "price": 1.50}';
    const { pingSources } = topologyOf([pingSource('hourly', { schedule: '@hourly', timezone: 'Europe/Berlin', contentType: 'application/json', data })]);
    // A clock 150 ms before 10:00 in Berlin (08:00 UTC in winter), ticking in real time.
    const offset = Date.parse('2026-01-15T08:59:59.850Z') - Date.now();
    scheduler = startPingSources({ sources: pingSources, sinkUrl: () => sink, log: silentLogger, now: () => new Date(Date.now() + offset) });
    await arrived;
    const [request] = requests;
    expect(request!.headers['ce-type']).toBe('dev.knative.sources.ping');
    expect(request!.headers['ce-source']).toBe('/apis/v1/namespaces/ordersaga/pingsources/hourly');
    expect(Date.parse(String(request!.headers['ce-time']))).toBeGreaterThanOrEqual(Date.parse('2026-01-15T09:00:00Z'));
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.body).toBe(data);
  });

  it('sends no content type and no body when the PingSource names none', async () => {
    const { pingSources } = topologyOf([pingSource('bare', { schedule: '* * * * *' })]);
    expect(pingSources[0]).toMatchObject({ contentType: undefined, data: undefined });
  });
});
