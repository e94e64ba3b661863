/**
 * Span parents without a context manager to carry them (`NonPropagatingContextManager`): every
 * client span a request causes (its IdP, Redis and upstream calls) is a child of that request's
 * server span only because the request's code hands its context down; a request the sampler left
 * out causes none, yet still passes its unsampled context upstream. Over real HTTP: the embedded
 * IdP, a real `redis-server` and the recording upstream.
 */
import { propagation, SamplingDecision, SpanKind, type TextMapPropagator, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedisGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, signIn } from '../testing/harness.ts';
import type { Tracing } from './tracing.ts';

const bed = useRedisGateway();

/**
 * W3C `traceparent` as the SDK's propagator writes it (the SDK registers that one; this package
 * does not depend on it), so the upstream shows which context each request passed on.
 */
const TRACEPARENT: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const sent = trace.getSpanContext(ctx);
    if (sent) setter.set(carrier, 'traceparent', `00-${sent.traceId}-${sent.spanId}-0${sent.traceFlags & 1}`);
  },
  extract: (ctx) => ctx,
  fields: () => ['traceparent'],
};
beforeAll(() => {
  propagation.setGlobalPropagator(TRACEPARENT);
});
afterAll(() => {
  propagation.disable();
});

/** A BFF on the Redis store, traced into memory with `sampler` (every span by default). */
async function tracedBff(sampler?: Sampler): Promise<{ bff: Bff; spans: () => ReadableSpan[] }> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    ...(sampler ? { sampler } : {}),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
  const bff = await bed.g.h.startBff(bed.redisEnv(), { tracing });
  return { bff, spans: () => exporter.getFinishedSpans() };
}

/** The one finished span named `name` (of `kind`), waited for: a server span ends after its answer. */
async function spanNamed(spans: () => ReadableSpan[], name: string, kind: SpanKind): Promise<ReadableSpan> {
  const end = Date.now() + 3_000;
  for (;;) {
    const found = spans().filter((s) => s.name === name && s.kind === kind);
    if (found.length === 1 || Date.now() > end) {
      expect(found, name).toHaveLength(1);
      return found[0] as ReadableSpan;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The spans of `server`'s trace besides itself, each of which must be its child. */
function childrenOf(server: ReadableSpan, spans: readonly ReadableSpan[]): string[] {
  const { traceId, spanId } = server.spanContext();
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId && s !== server);
  for (const span of inTrace) {
    expect(span.kind, span.name).toBe(SpanKind.CLIENT);
    expect(span.parentSpanContext?.spanId, span.name).toBe(spanId);
  }
  return inTrace.map((s) => s.name);
}

/** Spans of no request: discovery and the JWKS (jose's key set serves every request alike). */
const BACKGROUND = new Set(['GET idp discovery', 'GET idp jwks']);

/** Makes the jar's session in Redis need a refresh: the next `/api` call refreshes it. */
async function expireStoredAccessToken(jar: CookieJar): Promise<void> {
  const look = bed.storeFor();
  const session = await look.session(jar);
  await look.store.write({ ...session, accessTokenExpiresAt: Math.floor(Date.now() / 1000) - 10 }, {});
  await look.close();
}

/** Client spans without a parent: only those of work of no request. */
function expectRootsOnlyOfNoRequest(spans: readonly ReadableSpan[]): void {
  const roots = spans.filter((s) => s.kind === SpanKind.CLIENT && !s.parentSpanContext);
  expect(roots.map((s) => s.name).filter((name) => !BACKGROUND.has(name))).toEqual([]);
}

describe('client spans are children of the request that caused them', () => {
  it('the callback’s token and userinfo calls and its Redis writes; /auth/user’s read; logout’s end and revocation', async () => {
    const { bff, spans } = await tracedBff();
    const jar = new CookieJar();
    await signIn(bff, jar);
    const callback = await spanNamed(spans, 'GET /authorization-code/callback', SpanKind.SERVER);
    expect(childrenOf(callback, spans())).toEqual(
      expect.arrayContaining(['POST idp token', 'GET idp userinfo', 'redis create']),
    );

    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    const user = await spanNamed(spans, 'GET /auth/user', SpanKind.SERVER);
    expect(childrenOf(user, spans())).toEqual(['redis read']);

    const out = await bff.fetch('/auth/logout', { jar, method: 'POST', headers: { 'x-csrf': '1' } });
    expect(out.status).toBe(200);
    const logout = await spanNamed(spans, 'POST /auth/logout', SpanKind.SERVER);
    expect(childrenOf(logout, spans())).toEqual(expect.arrayContaining(['redis end', 'POST idp revoke']));

    expectRootsOnlyOfNoRequest(spans());
  });

  it('/api: the session read, the refresh under its Redis lock and the upstream call, whose span the upstream’s traceparent names', async () => {
    const { bff, spans } = await tracedBff();
    const jar = new CookieJar();
    await signIn(bff, jar);
    await expireStoredAccessToken(jar);

    const res = await bed.g.raw('/api/things', { headers: bed.g.apiHeaders(jar) });
    expect(res.status).toBe(200);
    const server = await spanNamed(spans, 'GET /api', SpanKind.SERVER);
    expect(childrenOf(server, spans())).toEqual(
      expect.arrayContaining(['redis read', 'redis lock', 'POST idp token', 'redis unlock', 'GET']),
    );
    const upstream = spans().find(
      (s) => s.name === 'GET' && s.parentSpanContext?.spanId === server.spanContext().spanId,
    );
    const { traceId, spanId } = upstream?.spanContext() ?? {};
    expect(bed.g.rec.requests.at(-1)?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expectRootsOnlyOfNoRequest(spans());
  });
});

/** Leaves out every server span and keeps every other: a client span made without its request's context would be kept. */
const SERVERS_LEFT_OUT: Sampler = {
  shouldSample: (_context, _traceId, _name, kind) => ({
    decision: kind === SpanKind.SERVER ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => 'ServersLeftOut',
};

describe('a request the sampler left out', () => {
  it('causes no span at all, and passes its unsampled context upstream (the API’s sampler drops it too)', async () => {
    const { bff, spans } = await tracedBff(SERVERS_LEFT_OUT);
    const jar = new CookieJar();
    await signIn(bff, jar);
    await expireStoredAccessToken(jar);
    expect((await bed.g.raw('/api/things', { headers: bed.g.apiHeaders(jar) })).status).toBe(200);
    expect(
      (await bff.fetch('/auth/logout', { jar, method: 'POST', headers: { 'x-csrf': '1' } })).status,
    ).toBe(200);

    expect(
      spans()
        .map((s) => s.name)
        .filter((name) => !BACKGROUND.has(name)),
    ).toEqual([]);
    expect(bed.g.rec.requests.at(-1)?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
