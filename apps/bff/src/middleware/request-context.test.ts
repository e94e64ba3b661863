import type { IncomingMessage } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';
import type { RequestLine } from '../http/request-log.ts';
import { createLogger } from '../logger.ts';
import { TRACING_OFF, type Tracing } from '../ops/tracing.ts';
import { handleErrors } from './error-handler.ts';
import { type RequestContextOptions, requestContext } from './request-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The middleware in front of routes that answer what the context holds, or fail on request; the
 * recorded request lines and the log lines are kept. No server: `app.request()` with the
 * `node:http` request (socket address, raw headers) passed as `env`, as the node adapter does.
 */
function makeApp(options: Partial<RequestContextOptions> = {}) {
  const recorded: RequestLine[] = [];
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger('info', {
    write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const app = new Hono<AppEnv>();
  app.use(
    '*',
    requestContext({
      logger,
      recordRequest: (line) => void recorded.push(line),
      tracing: TRACING_OFF,
      callbackPath: '/callback',
      trustProxyHops: 0,
      ...options,
    }),
  );
  app.all('/fail/bff', () => {
    throw new ApiError('csrf_required', 'refused here');
  });
  app.all('/fail/bug', () => {
    throw new Error('a bug');
  });
  app.get('/things/:id', (c) => c.json({ id: c.req.param('id') }));
  app.all('*', (c) => {
    c.var.log.info('in the handler');
    return c.json({ requestId: c.var.requestId, clientAddress: c.var.clientAddress ?? null }, 201);
  });
  app.onError(handleErrors(logger));
  return { app, recorded, logLines };
}

/** What `@hono/node-server` passes as `env`: the incoming request, for its socket and raw headers. */
const incoming = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({
  incoming: { socket: { remoteAddress }, headers } as unknown as IncomingMessage,
});

describe('requestContext: the request id', () => {
  it.each<[string, string | undefined, 'kept' | 'replaced']>([
    ['a well-formed id from a proxy', 'edge-7f3a.01:abc_DEF', 'kept'],
    ['an id of 64 characters', 'a'.repeat(64), 'kept'],
    ['no id', undefined, 'replaced'],
    ['an empty id', '', 'replaced'],
    ['an id of 65 characters', 'a'.repeat(65), 'replaced'],
    ['an id with a space', 'two words', 'replaced'],
    ['an id with markup', '<script>', 'replaced'],
  ])('%s is %s', async (_, sent, fate) => {
    const { app, recorded, logLines } = makeApp();
    const res = await app.request('/x', sent === undefined ? {} : { headers: { 'x-request-id': sent } });
    const id = res.headers.get('x-request-id');
    if (fate === 'kept') expect(id).toBe(sent);
    else expect(id).toMatch(UUID);
    // One id everywhere: the response header, the handler's context, the request line, the log.
    expect((await res.json()).requestId).toBe(id);
    expect(recorded.at(-1)?.reqId).toBe(id);
    expect(logLines.at(-1)).toMatchObject({ msg: 'in the handler', reqId: id });
  });
});

describe('requestContext: the request line', () => {
  it.each<[string, string, string, RequestLine['group']]>([
    ['an /api call, its query left out', 'GET', '/api/items?secret=1', 'api'],
    ['the callback (its own path), its code left out', 'GET', '/callback?code=abc&state=xyz', 'auth'],
    ['an /auth route', 'POST', '/auth/logout', 'auth'],
    ['a health probe', 'GET', '/readyz', 'health'],
    ['anything else, the SPA', 'GET', '/profile?tab=1', 'spa'],
  ])('records %s', async (_, method, url, group) => {
    const { app, recorded } = makeApp();
    const res = await app.request(url, { method });
    expect(res.status).toBe(201);
    expect(recorded).toEqual([
      {
        reqId: res.headers.get('x-request-id'),
        method,
        path: url.split('?')[0],
        group,
        status: 201,
        ip: undefined,
        start: expect.any(Number),
      },
    ]);
  });

  it.each<[string, string, number, string]>([
    ['an ApiError: its code and the code’s status', '/fail/bff', 403, 'csrf_required'],
    ['any other error: 500 internal_error', '/fail/bug', 500, 'internal_error'],
  ])('records the answer of onError for %s, with the request id header', async (_, path, status, code) => {
    const { app, recorded } = makeApp();
    const res = await app.request(path);
    expect(res.status).toBe(status);
    expect((await res.json()).error).toBe(code);
    expect(res.headers.get('x-request-id')).toMatch(UUID);
    expect(recorded).toMatchObject([{ path, status, reqId: res.headers.get('x-request-id') }]);
  });
});

describe('requestContext: the client address', () => {
  it.each<[string, ReturnType<typeof incoming> | undefined, number, string | undefined]>([
    ['no socket (app.request in tests)', undefined, 0, undefined],
    ['the socket’s address', incoming('203.0.113.9'), 0, '203.0.113.9'],
    [
      'the socket’s address, X-Forwarded-For ignored without trusted hops',
      incoming('203.0.113.9', { 'x-forwarded-for': '198.51.100.1' }),
      0,
      '203.0.113.9',
    ],
    [
      'the entry before one trusted proxy',
      incoming('10.0.0.2', { 'x-forwarded-for': '192.0.2.66, 198.51.100.1' }),
      1,
      '198.51.100.1',
    ],
    [
      'the entry before two trusted proxies',
      incoming('10.0.0.2', { 'x-forwarded-for': '192.0.2.66, 198.51.100.1' }),
      2,
      '192.0.2.66',
    ],
  ])('is %s', async (_, env, trustProxyHops, address) => {
    const { app, recorded } = makeApp({ trustProxyHops });
    const res = await app.request('/x', {}, env);
    expect((await res.json()).clientAddress).toBe(address ?? null);
    expect(recorded[0]?.ip).toBe(address);
  });
});

describe('requestContext: tracing', () => {
  function tracedApp() {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
    return { ...makeApp({ tracing }), spans: () => exporter.getFinishedSpans() };
  }

  it('makes one root server span per request, named by its route, with no query in it', async () => {
    const { app, spans } = tracedApp();
    const res = await app.request('/api/items?secret=1', {
      // A browser's trace headers are not continued: the BFF is the public edge.
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(201);
    const [span, ...others] = spans();
    expect(others).toEqual([]);
    expect(span?.name).toBe('GET /*');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.attributes).toEqual({
      'http.request.method': 'GET',
      'url.path': '/api/items',
      'http.route': '/*',
      'bff.route_group': 'api',
      'http.response.status_code': 201,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('names the registered route, never the path with its ids', async () => {
    const { app, spans } = tracedApp();
    expect((await app.request('/things/00ualice?state=the-state&code=the-code')).status).toBe(200);
    const [span] = spans();
    expect(span?.name).toBe('GET /things/:id');
    expect(span?.attributes).toMatchObject({
      'http.route': '/things/:id',
      'url.path': '/things/00ualice',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    const said = JSON.stringify({ name: span?.name, attributes: span?.attributes });
    for (const secret of ['the-state', 'the-code', '?']) expect(said).not.toContain(secret);
  });

  it.each<[string, string, number, SpanStatusCode, string | undefined]>([
    ['a refusal (4xx) is not an error of the server', '/fail/bff', 403, SpanStatusCode.UNSET, undefined],
    ['a failure (5xx) is, its status code as error.type', '/fail/bug', 500, SpanStatusCode.ERROR, '500'],
  ])('%s', async (_, path, status, code, errorType) => {
    const { app, spans } = tracedApp();
    expect((await app.request(path)).status).toBe(status);
    expect(spans()).toHaveLength(1);
    expect(spans()[0]?.name).toBe(`GET ${path}`);
    expect(spans()[0]?.attributes['http.route']).toBe(path);
    expect(spans()[0]?.attributes['http.response.status_code']).toBe(status);
    expect(spans()[0]?.attributes['error.type']).toBe(errorType);
    expect(spans()[0]?.status.code).toBe(code);
  });

  it('builds nothing for a request the sampler left out', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      sampler: new TraceIdRatioBasedSampler(0),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
    const { app } = makeApp({ tracing });
    expect((await app.request('/things/1')).status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
