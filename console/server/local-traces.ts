/**
 * Tracing as the local stand-in runs it. With no OTLP endpoint in its
 * environment, the stand-in is its own collector: a trace store and its
 * OTLP/HTTP receiver on 127.0.0.1 (OTLP_PORT, 4318 by default), where the
 * function processes export and the Broker's spans go straight in; the
 * console reads it. With an endpoint, every span goes there instead. With
 * OTEL_SDK_DISABLED=true, nothing is traced.
 */
import type { BrokerTracing } from '../../lib/tracing/broker.js';
import type { TraceStore } from './trace-store.js';

export interface LocalTraces {
  /** The stand-in's own store, when it is the collector. */
  store?: TraceStore;
  /** Its receiver's URL (OTEL_EXPORTER_OTLP_ENDPOINT of the functions). */
  receiverUrl?: string;
  /** The Broker's spans; undefined when tracing is off. */
  broker?: BrokerTracing;
  /** The OTEL_* environment of a function process serving Knative Service `service`. */
  functionEnv(service: string): Record<string, string>;
  close(): Promise<void>;
}

export const isTracingDisabled = (env: NodeJS.ProcessEnv) => env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
const hasEndpoint = (env: NodeJS.ProcessEnv) => Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);

/** Whether the stand-in would receive traces itself (and so needs OTLP_PORT). */
export const receivesTraces = (env: NodeJS.ProcessEnv) => !isTracingDisabled(env) && !hasEndpoint(env);

export async function startLocalTraces(env: NodeJS.ProcessEnv, port: number): Promise<LocalTraces> {
  const passed = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('OTEL_') && e[1] !== undefined));
  if (isTracingDisabled(env)) return { functionEnv: () => passed, close: async () => undefined };
  // Loaded only when tracing is on: the receiver's protobuf reader, the SDK.
  const { startStandInTracing } = await import('../../lib/tracing/stand-in.js');
  const local = receivesTraces(env) ? await import('./trace-store.js') : undefined;
  const store = local?.createTraceStore();
  const receiver = store && (await local!.serveTraceReceiver(store, port));
  const tracing = await startStandInTracing(env, store && (() => local!.storeExporter(store)));
  return {
    store,
    receiverUrl: receiver?.url,
    broker: tracing.broker,
    functionEnv: (service) => ({
      // Locally, spans reach the console within a second rather than the SDK's five.
      OTEL_BSP_SCHEDULE_DELAY: '500',
      ...passed,
      OTEL_SERVICE_NAME: service,
      ...(receiver ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } : {}),
    }),
    async close() {
      await tracing.shutdown();
      await receiver?.close();
    },
  };
}
