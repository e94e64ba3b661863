import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../testing/gateway.ts';
import { instrumentedFetch } from './instrumented-fetch.ts';
import { NO_METRICS } from './metrics.ts';
import type { Tracing } from './tracing.ts';

/** An IdP stand-in on a real socket: `/fail` answers 503, anything else 200 JSON. */
let server: http.Server;
let origin: string;
let port: number;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const status = req.url?.startsWith('/fail') ? 503 : 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function tracedFetch() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
  const idpFetch = instrumentedFetch(NO_METRICS, tracing, (url) =>
    url.includes('/token') ? 'token' : url.includes('/userinfo') ? 'userinfo' : 'other',
  );
  const only = (): ReadableSpan => {
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    return spans[0] as ReadableSpan;
  };
  return { idpFetch, only };
}

/** Nothing a span says may hold a secret sent in the call. */
function expectNoSecret(span: ReadableSpan, ...secrets: string[]) {
  const said = JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status });
  for (const secret of secrets) expect(said).not.toContain(secret);
}

describe('instrumentedFetch: the IdP call’s client span (HTTP semantic conventions)', () => {
  it('carries method, server, the URL without its query, and the status', async () => {
    const { idpFetch, only } = tracedFetch();
    const res = await idpFetch(`${origin}/oauth2/v1/token?code=the-code&state=the-state`, {
      method: 'POST',
      body: 'grant_type=authorization_code&code=the-code&client_secret=the-secret',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const span = only();
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.full': `${origin}/oauth2/v1/token`,
      'http.response.status_code': 200,
      'bff.idp_call': 'token',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expectNoSecret(span, 'the-code', 'the-state', 'the-secret', '?');
  });

  it('marks an error status as an error, its status code as error.type', async () => {
    const { idpFetch, only } = tracedFetch();
    expect((await idpFetch(`${origin}/fail/userinfo?access_token=the-token`)).status).toBe(503);
    const span = only();
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.full': `${origin}/fail/userinfo`,
      'http.response.status_code': 503,
      'error.type': '503',
    });
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expectNoSecret(span, 'the-token');
  });

  it('names a failure without an answer by its error type, with no status code', async () => {
    const { idpFetch, only } = tracedFetch();
    const refused = await closedPort();
    await expect(idpFetch(`http://127.0.0.1:${refused}/oauth2/v1/token?state=the-state`)).rejects.toThrow();
    const span = only();
    expect(span.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'server.port': refused,
      'url.full': `http://127.0.0.1:${refused}/oauth2/v1/token`,
    });
    expect(span.attributes['http.response.status_code']).toBeUndefined();
    expect(span.attributes['error.type']).toEqual(expect.any(String));
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expectNoSecret(span, 'the-state');
  });
});
