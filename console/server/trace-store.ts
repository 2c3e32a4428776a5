/**
 * The local stand-in's own trace store: an OTLP/HTTP receiver
 * (`POST /v1/traces`, protobuf and JSON) that keeps the most recent traces
 * within a bounded memory, and serves them as the console reads them
 * (`GET /traces/{traceId}`, `GET /orders/{id}/trace`, {@link Trace}). It is
 * also the local console's {@link TraceSource}, in the same process.
 *
 * Bounds: at most `maxSpans` spans in all and `maxSpansPerTrace` in one
 * trace; past them the oldest traces go first (spans beyond a trace's
 * bound are dropped and counted). Attribute strings are cut at 1 KiB.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Span, Trace } from './api-types.js';
import { decodeTraceRequest, OtlpFormatError } from './otlp.js';
import type { TraceSource } from './traces.js';

export interface TraceStoreOptions {
  /** Spans kept in all (default 20,000: a few thousand sagas). */
  maxSpans?: number;
  /** Spans kept in one trace (default 2,000). */
  maxSpansPerTrace?: number;
}

export interface TraceStore extends TraceSource {
  /** Keeps `spans`; the oldest traces make room. */
  add(spans: readonly Span[]): void;
  stats(): { traces: number; spans: number; dropped: number };
}

const SUBJECT = 'cloudevents.event_subject';
/** The span that starts an order's saga names its trace. */
const SAGA_START = 'CloudEvents Create dev.ordersaga.order.placed';

export function createTraceStore({ maxSpans = 20_000, maxSpansPerTrace = 2_000 }: TraceStoreOptions = {}): TraceStore {
  // Insertion order is age: a Map iterates its oldest trace first.
  const traces = new Map<string, { spans: Span[]; subjects: Set<string> }>();
  const bySubject = new Map<string, string>();
  let [spanCount, dropped] = [0, 0];

  const evictOldest = () => {
    const [traceId, oldest] = traces.entries().next().value!;
    traces.delete(traceId);
    spanCount -= oldest.spans.length;
    for (const subject of oldest.subjects) if (bySubject.get(subject) === traceId) bySubject.delete(subject);
  };
  const found = (traceId: string | undefined): Trace | undefined => {
    const kept = traceId === undefined ? undefined : traces.get(traceId);
    return kept && { traceId: traceId!, spans: [...kept.spans] };
  };

  return {
    available: true,
    add(spans) {
      for (const span of spans) {
        let kept = traces.get(span.traceId);
        if (!kept) traces.set(span.traceId, (kept = { spans: [], subjects: new Set() }));
        if (kept.spans.length >= maxSpansPerTrace) {
          dropped += 1;
          continue;
        }
        kept.spans.push(span);
        spanCount += 1;
        const subject = span.attributes[SUBJECT];
        if (typeof subject === 'string' && (!bySubject.has(subject) || span.name === SAGA_START)) {
          bySubject.set(subject, span.traceId);
          kept.subjects.add(subject);
        }
      }
      while (spanCount > maxSpans && traces.size > 0) evictOldest();
    },
    trace: async (traceId) => found(traceId.toLowerCase()),
    orderTrace: async (orderId) => found(bySubject.get(orderId.toLowerCase())),
    stats: () => ({ traces: traces.size, spans: spanCount, dropped }),
  };
}

/** Spans straight into `store` (the stand-in's own), through the same OTLP/JSON reading as the receiver's. */
export function storeExporter(store: TraceStore): SpanExporter {
  return {
    export(spans, done) {
      try {
        store.add(decodeTraceRequest('application/json', Buffer.from(JsonTraceSerializer.serializeRequest(spans)!)));
        done({ code: ExportResultCode.SUCCESS });
      } catch (err) {
        done({ code: ExportResultCode.FAILED, error: err as Error });
      }
    },
    shutdown: async () => undefined,
  };
}

/** Request bodies larger than this are refused (413). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The receiver's and the JSON routes' request listener over `store`. */
export function traceStoreHandler(store: TraceStore): http.RequestListener {
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const problem = (res: http.ServerResponse, status: number, detail: string) =>
    res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', status, detail }));

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/v1/traces') {
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        if ((size += chunk.length) <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) return problem(res, 413, `a trace request over ${MAX_BODY_BYTES} bytes`);
        const contentType = req.headers['content-type'] ?? '';
        try {
          const raw = Buffer.concat(chunks);
          store.add(decodeTraceRequest(contentType, req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw));
        } catch (err) {
          return problem(res, 400, err instanceof OtlpFormatError ? err.message : `unreadable request: ${(err as Error).message}`);
        }
        // An empty ExportTraceServiceResponse: full success.
        if (/protobuf/.test(contentType)) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        else json(res, 200, {});
      });
      return;
    }
    const route = /^\/traces\/([^/]+)$/.exec(path) ?? /^\/orders\/([^/]+)\/trace$/.exec(path);
    if (!route || req.method !== 'GET') return problem(res, 404, `no route ${req.method} ${path}`);
    const id = decodeURIComponent(route[1]!);
    void (path.startsWith('/traces/') ? store.trace(id) : store.orderTrace(id)).then((trace) =>
      trace ? json(res, 200, trace) : problem(res, 404, `no trace recorded for ${path.startsWith('/traces/') ? 'trace' : 'order'} ${id}`),
    );
  };
}

export interface TraceReceiver {
  /** `http://127.0.0.1:<port>`: OTEL_EXPORTER_OTLP_ENDPOINT for the processes that send to it. */
  url: string;
  close(): Promise<void>;
}

/** Serves `store` on 127.0.0.1:`port` (0 picks a free port). */
export async function serveTraceReceiver(store: TraceStore, port: number): Promise<TraceReceiver> {
  const server = http.createServer(traceStoreHandler(store));
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    url: `http://127.0.0.1:${bound}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
