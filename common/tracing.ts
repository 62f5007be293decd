import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { config } from './config';

/**
 * Traces: one trace per job, from the HTTP request through the workflow to each activity and each
 * model call. The API opens a span per request (api/tracing.ts); the Temporal client interceptor
 * carries its context into the workflow's headers; @temporalio/interceptors-opentelemetry's plugin on
 * each worker makes workflow and activity spans under it; callModel adds a span per model call with
 * its token counts. Spans never carry prompt or answer text.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (then spans go there over OTLP/HTTP, batched), or a
 * test installs a span processor of its own (the SDK's in-memory exporter).
 */

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  provider: NodeTracerProvider;
}

/**
 * The workflow interceptors of @temporalio/interceptors-opentelemetry. Built into every workflow bundle
 * (scripts/build-workflows.ts, the tests' global setup): a worker that traces gives them its span
 * exporter as a sink, one that does not a sink that drops their spans (workers/pools.ts).
 */
export const WORKFLOW_TRACING_INTERCEPTORS =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

let installed: Tracing | undefined;

/**
 * Installs the process's tracer provider (global: the AsyncLocalStorage context manager and W3C trace
 * context propagation) for `service`. Without `spanProcessor` and without OTEL_EXPORTER_OTLP_ENDPOINT
 * it does nothing and answers undefined. Idempotent: a second call answers the first provider.
 */
export function installTracing(service: string, spanProcessor?: SpanProcessor): Tracing | undefined {
  if (installed) return installed;
  const cfg = config();
  const processor =
    spanProcessor ?? (cfg.OTEL_EXPORTER_OTLP_ENDPOINT ? new BatchSpanProcessor(new OTLPTraceExporter()) : undefined);
  if (!processor) return undefined;
  const resource = new Resource({
    'service.name': cfg.OTEL_SERVICE_NAME ?? service,
    'service.namespace': 'sophia-code',
  });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  installed = { resource, spanProcessor: processor, provider };
  return installed;
}

/** The installed tracing, if any (workers add the Temporal plugin only then). */
export function tracing(): Tracing | undefined {
  return installed;
}

/** Flushes and stops the provider (on shutdown, so the last spans are exported). */
export async function shutdownTracing(): Promise<void> {
  const current = installed;
  installed = undefined;
  if (!current) return;
  await current.provider.shutdown();
  trace.disable();
}

/** The tracer of our own spans (API requests, model calls); a no-op one while tracing is off. */
export function tracer(): Tracer {
  return trace.getTracer('sophia-code');
}
