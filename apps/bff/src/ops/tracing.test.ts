import { context, createContextKey, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import { createLogger } from '../logger.ts';
import { requestContext } from '../middleware/request-context.ts';
import {
  inClientSpan,
  NonPropagatingContextManager,
  startServerSpan,
  startTracing,
  type Tracing,
} from './tracing.ts';

describe('startTracing', () => {
  let tracing: Tracing;
  beforeAll(async () => {
    // Nothing is exported: the sampler leaves every span out, and the endpoint is never called.
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio');
    vi.stubEnv('OTEL_TRACES_SAMPLER_ARG', '0');
    tracing = await startTracing('sampler-test');
  });
  afterAll(async () => {
    await tracing.shutdown();
    vi.unstubAllEnvs();
  });

  it('leaves sampling to OTEL_TRACES_SAMPLER, which the SDK reads itself', () => {
    const { span } = startServerSpan(tracing, { method: 'GET', target: '/api/x?secret=1', route: '/api' });
    expect(span.isRecording()).toBe(false);
    span.end();
  });

  it('registers a context manager that carries nothing (no AsyncLocalStorage, no promise hooks)', async () => {
    // The API keeps the registered manager private; the SDK's default would be AsyncLocalStorage's.
    const registered = (context as unknown as { _getContextManager(): unknown })._getContextManager();
    expect(registered).toBeInstanceOf(NonPropagatingContextManager);
    const key = createContextKey('test');
    const withValue = ROOT_CONTEXT.setValue(key, 1);
    expect(context.with(withValue, () => context.active())).toBe(ROOT_CONTEXT);
    const later = await context.with(withValue, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return context.active();
    });
    expect(later).toBe(ROOT_CONTEXT);
    expect(context.bind(withValue, () => context.active())()).toBe(ROOT_CONTEXT);
  });

  it('a Hono handler finds its server span in `traceParent`, never as the active span', async () => {
    const app = new Hono<AppEnv>();
    app.use(
      '*',
      requestContext({
        logger: createLogger('silent'),
        recordRequest: () => {},
        tracing,
        callbackPath: '/callback',
        trustProxyHops: 0,
      }),
    );
    app.get('/x', async (c) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const parent = c.get('traceParent');
      return c.json({
        active: trace.getActiveSpan() !== undefined,
        parent: parent === undefined ? null : trace.getSpan(parent)?.spanContext().traceId,
      });
    });
    expect(await (await app.request('/x')).json()).toEqual({ active: false, parent: expect.any(String) });
  });
});

describe('inClientSpan: the parent is the one given', () => {
  function traced(ratio = 1) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      sampler: new TraceIdRatioBasedSampler(ratio),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
    return { tracing, spans: () => exporter.getFinishedSpans() };
  }
  const call = async (span: unknown) => span !== undefined;

  it('under a request: a client span, child of its server span', async () => {
    const { tracing, spans } = traced();
    const server = startServerSpan(tracing, { method: 'GET', target: '/auth/user' });
    expect(await inClientSpan(tracing, server.context, 'redis read', {}, call)).toBe(true);
    const [client, ...others] = spans();
    expect(others).toEqual([]);
    expect(client?.kind).toBe(SpanKind.CLIENT);
    expect(client?.spanContext().traceId).toBe(server.span.spanContext().traceId);
    expect(client?.parentSpanContext?.spanId).toBe(server.span.spanContext().spanId);
  });

  it('for no request (discovery, the JWKS, the WebSockets’ session check): a root span', async () => {
    const { tracing, spans } = traced();
    expect(await inClientSpan(tracing, undefined, 'GET idp jwks', {}, call)).toBe(true);
    expect(spans()).toHaveLength(1);
    expect(spans()[0]?.parentSpanContext).toBeUndefined();
  });

  it('under a request the sampler left out: no span at all', async () => {
    const { tracing, spans } = traced(0);
    const server = startServerSpan(tracing, { method: 'GET', target: '/api/x' });
    expect(await inClientSpan(tracing, server.context, 'redis read', {}, call)).toBe(false);
    expect(spans()).toEqual([]);
  });
});
