/**
 * Tracing for tests: a real SDK tracer provider registered for the test
 * process, its finished spans kept in memory to read back.
 */
import { context, trace, SpanKind, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';

export interface TestTracing {
  /** Every span ended since the last `reset`. */
  spans(): ReadableSpan[];
  reset(): void;
  /** A provider of its own for `service`, exporting to the same memory (the Broker's services). */
  provider(service: string): TracerProvider;
  /** Runs `work` inside a server span, as an instrumented HTTP server would. */
  inRequest<T>(work: (span: Span) => Promise<T>): Promise<T>;
}

let installed: TestTracing | undefined;

/** Registers the provider (once per test process) and returns its spans' reader. */
export function useTestTracing(): TestTracing {
  if (installed) return installed;
  const exporter = new InMemorySpanExporter();
  const provider = (service: string, to: SpanExporter = exporter) =>
    new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor({ exporter: to })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider('test'));
  installed = {
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    provider: (service) => provider(service),
    inRequest: (work) => trace.getTracer('test').startActiveSpan('POST', { kind: SpanKind.SERVER }, (span) => work(span).finally(() => span.end())),
  };
  return installed;
}

/** The traceparent of a span, as an event would carry it. */
export const traceparentOf = (span: Pick<ReadableSpan, 'spanContext'>) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
