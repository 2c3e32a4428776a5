/**
 * A collector that is missing or hangs costs the traced process a bounded
 * queue and nothing else: spans are exported in batches off the request's
 * path (the SDK's BatchSpanProcessor, as the functions run it), so making
 * and ending spans stays fast, and spans beyond the queue are dropped
 * rather than kept.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

describe('a collector that is missing or hangs', () => {
  let hanging: net.Server;
  let missingUrl: string;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    hanging = net.createServer((socket) => (sockets.add(socket), socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    missingUrl = `http://127.0.0.1:${(closed.address() as net.AddressInfo).port}/v1/traces`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    hanging.close();
  });

  it.each([
    ['missing', () => missingUrl],
    ['hanging', () => `http://127.0.0.1:${(hanging.address() as net.AddressInfo).port}/v1/traces`],
  ])('when %s: 100,000 spans are made quickly and memory stays within the queue', async (_name, url) => {
    const provider = new TracerProvider({
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: url(), timeoutMillis: 2000 }), scheduledDelayMillis: 50 })],
    });
    const tracer = provider.getTracer('test');
    const before = heapMb();
    const started = performance.now();
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 1000; i++) {
        const span = tracer.startSpan('CloudEvents Process dev.ordersaga.order.placed', { attributes: { 'cloudevents.event_id': `id-${round}-${i}`, 'cloudevents.event_subject': 'x'.repeat(200) } }, ROOT_CONTEXT);
        span.end();
      }
      // Let the exporter's timers and sockets run between rounds, as a server's event loop would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const ms = performance.now() - started;
    const grown = heapMb() - before;
    // Shutting down tries the collector once more: refused, or cut at the export timeout.
    await provider.shutdown().catch(() => undefined);
    // Each span costs microseconds, whatever the collector does.
    expect(ms / 100_000).toBeLessThan(0.1);
    // 100,000 spans kept would take well over 100 MB; the queue holds 2,048.
    expect(grown).toBeLessThan(30);
  }, 30_000);
});
