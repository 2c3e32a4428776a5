/**
 * Preloaded into every function process (`node --import dist/tracing.js`,
 * by the stand-in and the image's CMD): starts OpenTelemetry before the
 * Functions Framework loads, so that its http server, undici (the
 * publisher) and pg are instrumented. Configured by the standard
 * environment alone (lib/tracing/sdk.ts). With `OTEL_SDK_DISABLED=true`
 * nothing is loaded at all: the process pays for one `if`.
 */
if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  const { startFunctionTracing } = await import('./sdk.js');
  await startFunctionTracing(process.env);
}
