import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry traces, configured only by OpenTelemetry's own variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME`, …), which the
 * SDK reads itself. With no endpoint set, tracing is off and {@link Tracing.enabled} is false:
 * callers then create no span at all (not even a no-op one), so it costs nothing measurable.
 *
 * Spans never carry a token, cookie, code, verifier or secret: attributes are methods, route
 * groups, paths without query strings, status codes, outcomes and IdP endpoint kinds.
 *
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Flushes pending spans and stops the exporter. */
  shutdown(): Promise<void>;
}

export const TRACING_OFF: Tracing = {
  enabled: false,
  tracer: trace.getTracer('okta-bff'),
  shutdown: async () => {},
};

/**
 * Starts the SDK (traces only: metrics are Prometheus, logs are stdout). `serviceName` is
 * `OTEL_SERVICE_NAME` when set, else this product's name.
 */
export async function startTracing(serviceName: string): Promise<Tracing> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { enabled: true, tracer: trace.getTracer('okta-bff'), shutdown: () => sdk.shutdown() };
}

/**
 * A server span for an incoming request, the root of its trace. The BFF is the public edge: a
 * `traceparent`, `tracestate` or `baggage` sent by a browser is not continued (anyone could join
 * or flood another trace, or plant baggage the API trusts).
 */
export function startServerSpan(
  tracing: Tracing,
  name: string,
  attributes: Record<string, string>,
): { span: Span; context: Context } {
  const parent = ROOT_CONTEXT;
  const span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, root: true }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a request's span with its status (5xx marks an error, as the HTTP conventions say). */
export function endServerSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/**
 * Runs `call` inside a client span (IdP, upstream, Redis), child of the active span. The span
 * records the outcome; `describe` may add safe attributes from the result.
 */
export async function inClientSpan<T>(
  tracing: Tracing,
  name: string,
  attributes: Record<string, string>,
  call: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracing.enabled) return call(undefined);
  return tracing.tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}
