/**
 * `API_ROUTES` end to end (docs/http-contract.md, "/api" and "Routes"): several upstreams behind
 * one BFF, each route with its token policy, over real HTTP with the embedded IdP issuing real
 * tokens. Two recording upstreams show exactly what crossed the proxy, and what did not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_IDP } from '@okta-bff/oidc';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  API_HEADERS,
  clearsSession,
  errorOf,
  type Gateway,
  SESSION_COOKIE,
  startGateway,
} from '../testing/gateway.ts';
import type { Bff, CookieJar } from '../testing/harness.ts';
import { type RecordingUpstream, startRecordingUpstream } from '../testing/recording-upstream.ts';

let g: Gateway;
let other: RecordingUpstream;
let bff: Bff;
let jar: CookieJar;

const routesFor = (a: string, b: string) =>
  JSON.stringify([
    { name: 'items', prefix: '/api/items', upstream: `${a}/items-base` },
    { name: 'item-notes', prefix: '/api/items/notes', upstream: `${b}/notes` },
    { name: 'public', prefix: '/api/public', upstream: `${b}/pub`, token: 'none' },
    { name: 'maybe', prefix: '/api/maybe', upstream: `${b}/opt`, token: 'user-optional' },
    { name: 'stats', prefix: '/api/stats', upstream: `${b}/svc`, token: 'client', scopes: ['items:stats'] },
    {
      name: 'open-stats',
      prefix: '/api/open-stats',
      upstream: `${b}/svc`,
      token: 'client',
      scopes: ['items:stats'],
      session: 'optional',
    },
  ]);

beforeAll(async () => {
  g = await startGateway();
  other = await startRecordingUpstream();
  ({ bff, jar } = await g.signedIn({ API_ROUTES: routesFor(g.rec.origin, other.origin) }));
});
afterEach(() => {
  g.rec.requests.length = 0;
  other.requests.length = 0;
});
afterAll(async () => {
  await other?.close();
  await g?.close();
});

const forwarded = () => [...g.rec.requests, ...other.requests];
const signedOut = { ...API_HEADERS };

describe('picking the route', () => {
  it('sends each path to its route, the prefix replaced by the upstream base path', async () => {
    expect((await g.raw('/api/items/3?x=1', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect((await g.raw('/api/items', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect((await g.raw('/api/items/notes/9', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect(g.rec.requests.map((r) => r.url)).toEqual(['/items-base/3?x=1', '/items-base']);
    expect(other.requests.map((r) => r.url)).toEqual(['/notes/9']);
  });

  it('answers 404 no_route for a path no route covers, signed in or not, forwarding nothing', async () => {
    for (const headers of [g.apiHeaders(jar), signedOut]) {
      for (const path of ['/api', '/api/', '/api/itemsx', '/api/nope/1', '/api/ITEMS']) {
        const res = await g.raw(path, { method: 'POST', headers, body: '{}' });
        expect(errorOf(res)).toEqual({ status: 404, error: 'no_route' });
      }
    }
    expect(forwarded()).toEqual([]);
  });

  it('checks X-CSRF and Origin before the route: an unrouted path without them is 403', async () => {
    const res = await g.raw('/api/nope', { headers: { cookie: jar.header(g.h.origin) } });
    expect(errorOf(res)).toEqual({ status: 403, error: 'csrf_required' });
    const cross = await g.raw('/api/public/x', {
      headers: { ...API_HEADERS, origin: 'https://evil.example' },
    });
    expect(errorOf(cross)).toEqual({ status: 403, error: 'csrf_required' });
    expect(forwarded()).toEqual([]);
  });

  it('names the route in the request log line, never another', async () => {
    await g.raw('/api/items/notes/1', { headers: g.apiHeaders(jar) });
    const line = bff.logs.filter((l) => l.includes('"path":"/api/items/notes/1"')).at(-1) ?? '';
    expect(JSON.parse(line)).toMatchObject({ route: 'item-notes', status: 200 });
  });
});

describe('token policies', () => {
  it('user: the session access token; without a session 401 and nothing forwarded', async () => {
    const session = await g.sessionIn(jar);
    await g.raw('/api/items/1', { headers: g.apiHeaders(jar) });
    expect(g.rec.requests[0]?.headers.authorization).toBe(`Bearer ${session.accessToken}`);
    expect(errorOf(await g.raw('/api/items/1', { headers: signedOut }))).toEqual({
      status: 401,
      error: 'unauthenticated',
    });
    expect(g.rec.requests).toHaveLength(1);
  });

  it('none: no token and no cookie upstream, signed in or not, whatever the client sends', async () => {
    const signedIn = await g.raw('/api/public/news', {
      headers: g.apiHeaders(jar, { authorization: 'Bearer planted' }),
    });
    const anonymous = await g.raw('/api/public/news', { headers: signedOut });
    expect([signedIn.status, anonymous.status]).toEqual([200, 200]);
    for (const r of other.requests) {
      expect(r.url).toBe('/pub/news');
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
    }
    // The answer's protections hold on every route.
    expect(anonymous.headers['set-cookie']).toBeUndefined();
    expect(anonymous.headers['access-control-allow-origin']).toBeUndefined();
    expect(anonymous.headers['cache-control']).toBe('no-store');
  });

  it('none still needs X-CSRF', async () => {
    expect(errorOf(await g.raw('/api/public/news')).error).toBe('csrf_required');
    expect(other.requests).toEqual([]);
  });

  it('user-optional: the user token when signed in, none (never a 401) when not', async () => {
    const session = await g.sessionIn(jar);
    expect((await g.raw('/api/maybe/a', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect((await g.raw('/api/maybe/b', { headers: signedOut })).status).toBe(200);
    const garbage = await g.raw('/api/maybe/c', {
      headers: { ...API_HEADERS, cookie: `${SESSION_COOKIE}=garbage` },
    });
    expect(garbage.status).toBe(200);
    expect(clearsSession(garbage)).toBe(true);
    expect(other.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/opt/a', `Bearer ${session.accessToken}`],
      ['/opt/b', undefined],
      ['/opt/c', undefined],
    ]);
  });

  it("client: the BFF's own client-credentials token for the route's scopes, never the user's", async () => {
    const session = await g.sessionIn(jar);
    expect((await g.raw('/api/stats/total', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect((await g.raw('/api/stats/total', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const [first = '', second] = other.requests.map((r) => r.headers.authorization ?? '');
    expect(first).toMatch(/^Bearer /);
    expect(first).not.toBe(`Bearer ${session.accessToken}`);
    // Reused while it is fresh.
    expect(second).toBe(first);
    const claims = decodeJwt(first.slice('Bearer '.length));
    expect(claims).toMatchObject({ aud: DEV_IDP.audience, cid: DEV_IDP.clientId });
    expect(claims.scp).toEqual(['items:stats']);
    expect(claims.sub).not.toBe(session.user.sub);
  });

  it('client: a session is required unless the route says optional', async () => {
    expect(errorOf(await g.raw('/api/stats/total', { headers: signedOut }))).toEqual({
      status: 401,
      error: 'unauthenticated',
    });
    expect(other.requests).toEqual([]);
    expect((await g.raw('/api/open-stats/total', { headers: signedOut })).status).toBe(200);
    expect(other.requests[0]?.headers.authorization).toMatch(/^Bearer /);
  });
});

describe('streams', () => {
  /** An upstream sending one server-sent event each time the test calls `next()`, and `end()`. */
  async function startEventSource() {
    const pending: ((event: string) => void)[] = [];
    let response: http.ServerResponse | undefined;
    const server = http.createServer((_req, res) => {
      response = res;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      send: (event: string) => response?.write(`data: ${event}\n\n`),
      end: () => response?.end(),
      pending,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  it('passes server-sent events one by one, and a silent stream is cut after timeoutMs only', async () => {
    const source = await startEventSource();
    try {
      const routes = JSON.stringify([
        { name: 'events', prefix: '/api/events', upstream: source.origin, token: 'none', timeoutMs: 400 },
      ]);
      const sse = await g.h.startBff({ API_ROUTES: routes });
      const res = await fetch(`${sse.origin}/api/events`, { headers: API_HEADERS });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      // Each event reaches the client before the upstream sends the next one, for longer in
      // total than the route's timeout: a stream that keeps talking is never cut.
      const startedMs = Date.now();
      for (let i = 1; i <= 8; i++) {
        source.send(String(i));
        const { value } = await reader.read();
        expect(decoder.decode(value)).toBe(`data: ${i}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(Date.now() - startedMs).toBeGreaterThan(400);
      // Then silence past the timeout: the BFF ends the stream (not cleanly: the last chunk never came).
      await expect(reader.read()).rejects.toThrow();
    } finally {
      await source.close();
    }
  });
});
