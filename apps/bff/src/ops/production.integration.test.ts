/**
 * Operations against the production build started the way `pnpm start` starts it (`node`, the
 * start script's V8 flags, `apps/bff/dist/server.js`, configured by environment variables alone):
 * Prometheus metrics on their own port, OpenTelemetry traces to an OTLP/HTTP receiver, and
 * graceful shutdown. The embedded IdP and a recording upstream run in this process, over real HTTP.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createDevClientFor, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { DEV_IDP } from '@okta-bff/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, rawRequest } from '../testing/gateway.ts';
import { type RecordingUpstream, startRecordingUpstream } from '../testing/recording-upstream.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const SECRET = 'production-test-secret-0123456789abcdef';

let idp: DevIdp;
let rec: RecordingUpstream;
let otlp: { origin: string; spans: OtlpSpan[]; close(): Promise<void> };
let bffPort: number;
let metricsPort: number;
let origin: string;
let staticDir: string | undefined;

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: { key: string; value: Record<string, unknown> }[];
  readonly raw: string;
}

/** An OTLP/HTTP (JSON) trace receiver: what an OpenTelemetry Collector would get. */
async function startOtlpReceiver() {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: Omit<OtlpSpan, 'raw'>[] }[] }[];
      };
      for (const rs of parsed.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const span of ss.spans) spans.push({ ...span, raw: JSON.stringify(span) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `node` flags of `pnpm start` (apps/bff/package.json), so this runs what production runs. */
const START_FLAGS = (
  JSON.parse(readFileSync(join(root, 'apps/bff/package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

function startBff(env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...START_FLAGS, 'apps/bff/dist/server.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return Object.assign(child, { output: () => output });
}

async function waitForReady(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the BFF did not become ready');
}

/** A browser's sign-in through the BFF at `origin`. */
async function signIn(): Promise<CookieJar> {
  return (await signInWithCallback()).jar;
}

/** {@link signIn}, with the code and state the IdP sent back (to prove no span holds them). */
async function signInWithCallback(): Promise<{ jar: CookieJar; code: string; state: string }> {
  const jar = new CookieJar();
  const go = async (path: string) => {
    const url = new URL(path, origin);
    const res = await fetch(url, { headers: { cookie: jar.header(url) }, redirect: 'manual' });
    jar.store(url, res);
    return res;
  };
  const login = await go('/auth/login');
  const callback = await driveIdpLogin({
    authorizeUrl: login.headers.get('location') ?? '',
    username: 'alice@example.com',
    password: 'alice-dev-password',
  });
  const url = new URL(callback.url);
  const done = await go(`${url.pathname}${url.search}`);
  if (done.status !== 302 || done.headers.get('location') !== '/') throw new Error('sign-in failed');
  const code = url.searchParams.get('code') ?? '';
  const state = url.searchParams.get('state') ?? '';
  if (!code || !state) throw new Error('the callback carried no code or state');
  return { jar, code, state };
}

/** An OTLP/JSON span's attributes as plain values (`intValue` may arrive as a string). */
function attributesOf(span: OtlpSpan | undefined): Record<string, unknown> {
  const entries = (span?.attributes ?? []).map(({ key, value }) => {
    const [[kind, raw] = ['', undefined]] = Object.entries(value);
    return [key, kind === 'intValue' ? Number(raw) : raw] as const;
  });
  return Object.fromEntries(entries);
}

const apiCall = (jar: CookieJar, path = '/api/things') =>
  rawRequest(origin, path, { headers: { 'x-csrf': '1', cookie: jar.header(origin) } });

/** The value of one sample line of the Prometheus text format, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((w) => inside.split(',').includes(w)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

let bff: ReturnType<typeof startBff>;

beforeAll(async () => {
  await promisify(execFile)('pnpm', ['--filter', '@okta-bff/bff', 'run', 'build'], { cwd: root });
  [bffPort, metricsPort] = [await closedPort(), await closedPort()];
  // The SPA as `pnpm build` leaves it, so that pages answer as in production (a fresh clone has none).
  staticDir = await mkdtemp(join(tmpdir(), 'bff-static-'));
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  origin = `http://localhost:${bffPort}`;
  [idp, rec, otlp] = await Promise.all([
    startDevIdp({ port: 0, clients: [createDevClientFor(origin)] }),
    startRecordingUpstream(),
    startOtlpReceiver(),
  ]);
  bff = startBff({
    PORT: String(bffPort),
    METRICS_PORT: String(metricsPort),
    OKTA_ISSUER: idp.issuer,
    CLIENT_ID: DEV_IDP.clientId,
    CLIENT_SECRET: DEV_IDP.clientSecret,
    REDIRECT_URL: `${origin}/authorization-code/callback`,
    SESSION_SECRET: SECRET,
    API_UPSTREAM_URL: rec.origin,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.origin,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'bff-under-test',
    SHUTDOWN_TIMEOUT_S: '10',
    STATIC_DIR: staticDir,
  });
  await waitForReady(bffPort);
}, 90_000);

afterAll(async () => {
  if (bff && bff.exitCode === null) bff.kill('SIGKILL');
  await Promise.all([rec?.close(), otlp?.close(), idp?.close()]);
  if (staticDir) await rm(staticDir, { recursive: true, force: true });
});

describe('Prometheus metrics (METRICS_PORT)', () => {
  it('count exactly the /api calls sent, in the api group, and are not served on the public port', async () => {
    const jar = await signIn();
    const metrics = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const before = await metrics();
    for (let i = 0; i < 7; i++) expect((await apiCall(jar)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50)); // the last request's end is recorded on socket close
    const after = await metrics();
    const count = (text: string) =>
      sample(text, 'bff_http_request_duration_seconds_count', { group: 'api', status_class: '2xx' });
    expect(count(after) - count(before)).toBe(7);
    expect(
      sample(after, 'bff_upstream_request_duration_seconds_count', { outcome: 'ok' }) -
        sample(before, 'bff_upstream_request_duration_seconds_count', { outcome: 'ok' }),
    ).toBe(7);
    expect(sample(after, 'bff_logins_total', { outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(
      sample(after, 'bff_idp_request_duration_seconds_count', { kind: 'token', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(after).toContain('process_cpu_seconds_total');
    // No label carries a path, a user or an id.
    expect(after).not.toMatch(/things|alice|00ualice|\/api\//);
    // The public port has no /metrics: it answers the SPA's page (client-side routes), never the metrics.
    const pub = await fetch(`${origin}/metrics`);
    expect(pub.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await pub.text()).not.toContain('bff_http_request_duration_seconds');
  });
});

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('export a login’s and an /api call’s spans, propagate traceparent upstream, and never a token', async () => {
    const { jar, ...login } = await signInWithCallback();
    rec.requests.length = 0;
    expect((await apiCall(jar, '/api/traced?x=secret-query')).status).toBe(200);
    const traceparent = String(rec.requests[0]?.headers.traceparent ?? '');
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, parentId] = traceparent.split('-');
    const end = Date.now() + 10_000;
    while (!otlp.spans.some((s) => s.spanId === parentId) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));

    // OpenTelemetry's stable HTTP conventions: the upstream call, then the /api server span.
    const upstreamSpan = otlp.spans.find((s) => s.spanId === parentId);
    expect(upstreamSpan).toMatchObject({ traceId, kind: 3 /* CLIENT */, name: 'GET' });
    expect(attributesOf(upstreamSpan)).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(rec.origin).port),
      'url.full': `${rec.origin}/traced`,
      'http.response.status_code': 200,
    });
    const serverSpan = otlp.spans.find((s) => s.spanId === upstreamSpan?.parentSpanId);
    expect(serverSpan).toMatchObject({ traceId, kind: 2 /* SERVER */, name: 'GET /api' });
    expect(attributesOf(serverSpan)).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api',
      'bff.route': 'api',
      'url.path': '/api/traced',
      'http.response.status_code': 200,
    });
    expect(serverSpan?.raw).not.toContain('secret-query');
    // The login: a server span for the callback, with the IdP calls as its children.
    const tokenCall = otlp.spans.find((s) => s.name.includes('idp token'));
    expect(tokenCall).toBeDefined();
    const issuer = new URL(idp.issuer);
    expect(attributesOf(tokenCall)).toMatchObject({
      'http.request.method': 'POST',
      'server.address': issuer.hostname,
      'server.port': Number(issuer.port),
      'url.full': expect.stringMatching(new RegExp(`^${issuer.origin}/[^?#]+$`)),
      'http.response.status_code': 200,
    });
    const callbackSpan = otlp.spans.find((s) => s.spanId === tokenCall?.parentSpanId);
    expect(callbackSpan).toMatchObject({ kind: 2, name: 'GET /authorization-code/callback' });
    expect(attributesOf(callbackSpan)).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/authorization-code/callback',
      'url.path': '/authorization-code/callback',
      'http.response.status_code': 302,
    });
    expect(otlp.spans.some((s) => s.name.includes('idp userinfo') && s.traceId === tokenCall?.traceId)).toBe(
      true,
    );
    // Every client span names its server and says its URL, never a query string.
    const clientSpans = otlp.spans.filter((s) => s.kind === 3 && !s.name.startsWith('redis'));
    expect(clientSpans.length).toBeGreaterThanOrEqual(3);
    for (const span of clientSpans) {
      const attributes = attributesOf(span);
      expect(attributes, span.name).toMatchObject({
        'http.request.method': expect.any(String),
        'server.address': expect.any(String),
        'server.port': expect.any(Number),
        'url.full': expect.stringMatching(/^https?:\/\/[^?#@]+$/),
      });
      expect('http.response.status_code' in attributes || 'error.type' in attributes, span.name).toBe(true);
    }

    const everything = otlp.spans.map((s) => s.raw).join('\n');
    const session = jar.get('bff_session') ?? '';
    for (const secret of [
      session,
      login.code,
      login.state,
      DEV_IDP.clientSecret,
      SECRET,
      'Bearer ',
      'code_verifier',
      'refresh_token',
      'access_token',
    ]) {
      expect(everything.includes(secret), secret.slice(0, 10)).toBe(false);
    }
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/); // no JWT
  });
});

/** The parsed JSON lines of the BFF's standard output so far that carry `reqId`. */
const requestLines = (reqId: string) =>
  bff
    .output()
    .split('\n')
    .filter((line) => line.includes(`"reqId":"${reqId}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('request log (LOG_LEVEL=info, standard output)', () => {
  it('writes one JSON line per request, within a second even when the server is quiet', async () => {
    const jar = await signIn();
    const reqId = `log-test-${Date.now()}`;
    const res = await rawRequest(origin, '/api/things?code=secret-in-query', {
      headers: { 'x-csrf': '1', cookie: jar.header(origin), 'x-request-id': reqId },
    });
    expect(res.status).toBe(200);
    // Buffered output is written at least every 500 ms.
    const deadline = Date.now() + 3_000;
    while (requestLines(reqId).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(requestLines(reqId)).toEqual([
      expect.objectContaining({ level: 30, msg: 'request', method: 'GET', path: '/api/things', status: 200 }),
    ]);
    expect(bff.output()).not.toContain('secret-in-query');
  });
});

describe('graceful shutdown (SIGTERM)', () => {
  it('lets a 3-second streamed /api answer finish, refuses new connections, and exits 0', async () => {
    const jar = await signIn();
    const streaming = rawRequest(origin, '/api/stream?ms=3000&chunks=30', {
      headers: { 'x-csrf': '1', cookie: jar.header(origin), 'x-request-id': 'the-last-request' },
    });
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise<number | null>((resolve) => bff.once('exit', (code) => resolve(code)));
    bff.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const refused = await rawRequest(origin, '/healthz').then(
      (res) => `answered ${res.status}`,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    const res = await streaming;
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(30 * 1024);
    expect(await exited).toBe(0);
    expect(bff.output()).toMatch(/shutting down/);
    expect(bff.output()).not.toMatch(/cut off/);
    // The last lines, still buffered at exit, were written.
    expect(requestLines('the-last-request')).toEqual([expect.objectContaining({ status: 200 })]);
  }, 20_000);
});
