// Turns on an OpenTelemetry trace SDK when the standard OTEL_* environment
// variables ask for one; otherwise leaves @opentelemetry/api's no-op tracer in
// place, so spans cost a call that returns a non-recording span.
//
// Switched on by (the OpenTelemetry SDK environment specification):
//   OTEL_TRACES_EXPORTER=otlp (or console), or an OTLP endpoint:
//   OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
// Switched off by OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
// Also read: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
// (+ _ARG), and the exporter's own OTEL_EXPORTER_OTLP_* (headers, timeout).
//
// The API keeps the provider, propagator and context manager in its own
// process-wide registry: that is how instrumentation finds them, so this is
// called once, from each process's entry file.

import { context, propagation, trace } from '@opentelemetry/api';

export type Tracing = { shutdown(): Promise<void> };

/** The SDK's modules, loaded only when tracing is on (a process that does not trace never loads them). */
async function loadSdk() {
  const [sdk, exporter, resources, hooks, core] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
  ]);
  return { sdk, exporter, resources, hooks, core };
}

/** The exporters OTEL_TRACES_EXPORTER names, or [] when tracing stays off. */
export function tracesExporters(env: NodeJS.ProcessEnv): Array<'otlp' | 'console'> {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (named.includes('none')) return [];
  if (named.length > 0) return named.filter((n): n is 'otlp' | 'console' => n === 'otlp' || n === 'console');
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? ['otlp'] : [];
}

/** Registers a tracer provider exporting spans as the environment says; null when it says nothing (no-op tracing). */
export async function startTracing(env: NodeJS.ProcessEnv, serviceName: string): Promise<Tracing | null> {
  const exporters = tracesExporters(env);
  if (exporters.length === 0) return null;
  const { sdk, exporter, resources, hooks, core } = await loadSdk();
  const detected = resources.detectResources({ detectors: [resources.envDetector] });
  const resource = resources.resourceFromAttributes({ 'service.name': serviceName }).merge(detected);
  const spanProcessors = exporters.map((name) =>
    name === 'otlp' ? new sdk.BatchSpanProcessor({ exporter: new exporter.OTLPTraceExporter() }) : new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }),
  );
  const provider = new sdk.TracerProvider({ resource, spanProcessors, sampler: samplerOf(env, sdk) });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      // Sends what is buffered; a collector that is down must not hold the exit for long.
      await Promise.race([provider.shutdown(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
}

type Sdk = typeof import('@opentelemetry/sdk-trace');

/** OTEL_TRACES_SAMPLER (+ _ARG); default parentbased_always_on, as the specification says. */
function samplerOf(env: NodeJS.ProcessEnv, sdk: Sdk) {
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const validRatio = Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase()) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(validRatio);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(validRatio) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}
