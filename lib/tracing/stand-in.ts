/**
 * OpenTelemetry for the local stand-in's Broker: two tracer providers, one
 * per Knative data-plane service (`broker-ingress`, `broker-filter`, as a
 * cluster names them), exporting in batches to `exporter` or, without one,
 * to OTLP/HTTP as the standard environment says (`OTEL_EXPORTER_OTLP_*`,
 * `http/protobuf` or `http/json`). Its spans follow their parents'
 * sampling decision: the producer's, carried in `traceparent`.
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { brokerTracing, type BrokerTracing } from './broker.js';

export interface StandInTracing {
  broker: BrokerTracing;
  /** Sends what is queued, then stops. */
  shutdown(): Promise<void>;
}

/** The service names of Knative's Broker data plane. */
export const BROKER_SERVICES = { ingress: 'broker-ingress.knative-eventing', filter: 'broker-filter.knative-eventing' } as const;

async function exporterFromEnv(env: NodeJS.ProcessEnv): Promise<SpanExporter> {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  if (protocol !== 'http/protobuf') throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: the stand-in exports http/protobuf or http/json`);
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

/** Starts the Broker's tracing; `exporter` makes every span go there (the stand-in's own store). */
export async function startStandInTracing(env: NodeJS.ProcessEnv, exporter?: () => SpanExporter): Promise<StandInTracing> {
  const [{ TracerProvider, BatchSpanProcessor, ParentBasedSampler, AlwaysOnSampler }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
  ]);
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY || 500);
  const provider = async (service: string) =>
    new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [new BatchSpanProcessor({ exporter: exporter ? exporter() : await exporterFromEnv(env), scheduledDelayMillis: delay })],
    });
  const ingress = await provider(BROKER_SERVICES.ingress);
  const filter = await provider(BROKER_SERVICES.filter);
  return {
    broker: brokerTracing({ ingress: ingress.getTracer('knative-eventing'), filter: filter.getTracer('knative-eventing') }),
    async shutdown() {
      await Promise.all([ingress.shutdown(), filter.shutdown()]).catch(() => undefined);
    },
  };
}
