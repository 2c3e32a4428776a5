/**
 * OpenTelemetry for a function process: the Node SDK with the http, undici
 * and pg instrumentations, configured by the standard environment
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` —
 * `http/protobuf` by default, or `http/json` —, `OTEL_TRACES_SAMPLER` and
 * its `_ARG`, `OTEL_BSP_*`). The service is the Knative Service
 * (`OTEL_SERVICE_NAME`, else Knative's `K_SERVICE`, else the Functions
 * Framework target). Spans leave in batches, off the request's path: a
 * collector that is down or hangs costs a bounded queue (spans beyond it
 * are dropped) and an export timeout, never a request.
 */
import type { IncomingMessage } from 'node:http';

/** Paths whose requests are not traced: Knative's probes. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz']);

/** Starts the SDK; returns a function that flushes and stops it. */
export async function startFunctionTracing(env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  // No ESM loader hook: http and undici need none, and lib/pg.ts loads pg
  // through require, where the pg instrumentation patches it.
  env.OTEL_SERVICE_NAME ||= env.K_SERVICE || env.FUNCTION_TARGET || 'ordersaga';
  // Traces only, unless asked: no metrics or logs exporter knocking at the collector.
  env.OTEL_METRICS_EXPORTER ||= 'none';
  env.OTEL_LOGS_EXPORTER ||= 'none';
  const [{ NodeSDK }, { HttpInstrumentation }, { UndiciInstrumentation }, { PgInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]!) }),
      new UndiciInstrumentation(),
      // A pool's connects are not the saga's work: queries only.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  // The Functions Framework exits at once on SIGTERM: spans still queued then
  // (at most OTEL_BSP_SCHEDULE_DELAY's worth) are lost with the process.
  return () => sdk.shutdown().catch(() => undefined);
}
