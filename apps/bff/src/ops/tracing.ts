import {
  type Attributes,
  type Context,
  type ContextManager,
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
 * Spans follow the stable HTTP semantic conventions and never carry a token, cookie, code, state,
 * verifier or secret: attributes are methods, routes, paths and URLs without query strings,
 * servers, status codes, error types, outcomes and IdP endpoint kinds. The sampler is the SDK's,
 * from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`: none is set here.
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
  // No `sampler`: the SDK builds it from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
  const sdk = new NodeSDK({
    serviceName,
    contextManager: new NonPropagatingContextManager(),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { enabled: true, tracer: trace.getTracer('okta-bff'), shutdown: () => sdk.shutdown() };
}

/**
 * The context manager the SDK registers: one that propagates nothing. `active()` is always the
 * root context, `with` just calls its function, `bind` returns its target.
 *
 * The SDK's default, `AsyncLocalStorageContextManager`, costs every request of the process once a
 * single `context.with` has run: on Node 20 (which has no `AsyncContextFrame`) it turns on the
 * async_hooks promise hooks for every promise, sampled or not, and they stay on. With a 10 %
 * sample (`parentbased_traceidratio`), proxied `/api` requests cost 1.15–1.30× the CPU of tracing
 * off; with this manager, 1.07× against 1.15× in the same interleaved run.
 *
 * So the BFF passes each request's context explicitly instead: the server span's context (from
 * {@link startServerSpan}) rides in a Hono variable or a parameter down to every client span
 * ({@link inClientSpan}, the upstream call). Nothing in the BFF may read `context.active()`,
 * `trace.getActiveSpan()` or use `startActiveSpan`: under this manager they see no span.
 */
export class NonPropagatingContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    _context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }

  bind<T>(_context: Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}

/** The methods the HTTP conventions name; any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** `http.request.method` as the conventions want it: a known method, or `_OTHER` (low cardinality). */
const methodOf = (method: string): string => (KNOWN_METHODS.has(method) ? method : '_OTHER');

/** What a request's server span starts from; the route is given when known before routing. */
export interface ServerSpanStart {
  readonly method: string;
  /** The request target or path: `url.path` is its path, never its query string. */
  readonly target: string;
  /** The route template (`http.route`), e.g. `/api`: never a raw path, which holds ids. */
  readonly route?: string;
  /** Extra attributes (this product's own, `bff.*`), set only on a recording span. */
  readonly attributes?: Attributes;
}

/** A request's server span, and the context that carries it: the parent of the request's client spans. */
export interface ServerSpan {
  readonly span: Span;
  readonly context: Context;
}

/**
 * A server span for an incoming request, the root of its trace. The BFF is the public edge: a
 * `traceparent`, `tracestate` or `baggage` sent by a browser is not continued (anyone could join
 * or flood another trace, or plant baggage the API trusts).
 *
 * The sampler (`OTEL_TRACES_SAMPLER`, read by the SDK) decides here; a request it leaves out gets
 * a non-recording span, and nothing beyond the method and route is built for it.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
export function startServerSpan(tracing: Tracing, start: ServerSpanStart): ServerSpan {
  const parent = ROOT_CONTEXT;
  const method = methodOf(start.method);
  const attributes: Attributes = { 'http.request.method': method };
  if (start.route !== undefined) attributes['http.route'] = start.route;
  const span = tracing.tracer.startSpan(
    spanName(method, start.route),
    { kind: SpanKind.SERVER, attributes, root: true },
    parent,
  );
  if (span.isRecording()) {
    const queryAt = start.target.indexOf('?');
    span.setAttribute('url.path', queryAt < 0 ? start.target : start.target.slice(0, queryAt));
    if (method !== start.method) span.setAttribute('http.request.method_original', start.method);
    if (start.attributes) span.setAttributes(start.attributes);
  }
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Ends a request's span with its status (5xx marks an error, with the status as `error.type`, as
 * the HTTP conventions say) and, once routing has found it, its route, which also names the span.
 */
export function endServerSpan(span: Span, status: number, route?: { method: string; route: string }): void {
  if (span.isRecording()) {
    if (route) {
      span.setAttribute('http.route', route.route);
      span.updateName(spanName(methodOf(route.method), route.route));
    }
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}

/** `{method} {route}`, or `{method}` alone without a route (`HTTP` for an unknown method). */
const spanName = (method: string, route: string | undefined) => {
  const name = method === '_OTHER' ? 'HTTP' : method;
  return route === undefined ? name : `${name} ${route}`;
};

/**
 * A client span's attributes for a call to `url`: the server and the URL **without** its query
 * string, fragment or credentials (an IdP or API URL's query may hold a code, a state, a token or
 * user data; the conventions allow leaving it out).
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client
 */
export function clientSpanAttributes(method: string, url: URL): Attributes {
  return {
    'http.request.method': methodOf(method),
    ...serverAttributes(url),
    'url.full': `${url.origin}${url.pathname}`,
  };
}

/** `server.address` (an IPv6 address without its brackets) and `server.port` (the default if none). */
export function serverAttributes(url: URL): Attributes {
  return {
    'server.address': url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    'server.port': url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
  };
}

/**
 * Records a client call's answer: its status, and for 4xx and 5xx (errors for a client) the
 * status as `error.type` and an error status.
 */
export function recordClientResponse(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** Records a client call that got no answer: `error.type` is low-cardinality (a Node error code, a class name). */
export function recordClientFailure(span: Span, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
}

/** A failure's `error.type`: a Node system error's code (`ECONNREFUSED`), else its class name. */
export function errorTypeOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : error.name;
  }
  return '_OTHER';
}

/**
 * Runs `call` inside a client span (IdP, Redis), child of `parent`: the context of the request the
 * call serves (its {@link ServerSpan}), passed explicitly because no context manager carries it
 * (see {@link NonPropagatingContextManager}). Without a parent (work of no request: discovery, the
 * JWKS, the WebSockets' session check) the span is a root. Under a request the sampler left out
 * no span is made at all (its children would not be recorded either). The span records a
 * failure; `call` may add safe attributes from the result.
 */
export async function inClientSpan<T>(
  tracing: Tracing,
  parent: Context | undefined,
  name: string,
  attributes: Attributes,
  call: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracing.enabled) return call(undefined);
  if (parent !== undefined && trace.getSpan(parent)?.isRecording() === false) return call(undefined);
  const span = tracing.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent ?? ROOT_CONTEXT);
  try {
    return await call(span);
  } catch (error) {
    recordClientFailure(span, errorTypeOf(error));
    throw error;
  } finally {
    span.end();
  }
}
