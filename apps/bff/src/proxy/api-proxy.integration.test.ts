/**
 * The `/api` gateway contract (docs/http-contract.md, "/api"), end to end over real HTTP: the embedded
 * IdP issues real tokens, the BFF runs in this process, and the upstream is either the real
 * sample API or a recording `node:http` server that shows exactly what crossed the proxy.
 * msw is switched on only for the IdP-fault tests, so the streaming tests run on plain sockets.
 */
import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type ServerType, serve } from '@hono/node-server';
import { createApiApp, type EchoBody } from '@okta-bff/api';
import { DEV_IDP } from '@okta-bff/oidc';
import { HttpResponse, http as mswHttp } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  API_HEADERS,
  clearsSession,
  closedPort,
  errorOf,
  type Gateway,
  SESSION_COOKIE,
  sessionCookiesSet,
  startGateway,
} from '../testing/gateway.ts';
import { CookieJar, DEV_USERS, type Harness } from '../testing/harness.ts';
import { type RecordingUpstream, zeroStream } from '../testing/recording-upstream.ts';

const SESSION = SESSION_COOKIE;
const MB = 1024 * 1024;

let g: Gateway;
let h: Harness;
let rec: RecordingUpstream;
let raw: Gateway['raw'];
let apiHeaders: Gateway['apiHeaders'];
let sessionIn: Gateway['sessionIn'];
let putSession: Gateway['putSession'];
let expireAccessToken: Gateway['expireAccessToken'];
let signedIn: Gateway['signedIn'];
let api: ServerType;
let apiOrigin: string;

beforeAll(async () => {
  g = await startGateway();
  ({ h, rec, raw, apiHeaders, sessionIn, putSession, expireAccessToken, signedIn } = g);
  const app = createApiApp({ issuer: h.idp.issuer, audience: DEV_IDP.audience, logError: () => {} });
  await new Promise<void>((resolve) => {
    api = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterEach(() => {
  rec.requests.length = 0;
});
afterAll(async () => {
  await new Promise((resolve) => api?.close(resolve));
  await g?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Live memory of this process (heap + array buffers) right after a full GC, so garbage that is
 * merely not collected yet does not count. Array buffers are swept on the GC's own thread here,
 * otherwise freed chunks linger in the count for a moment and the reading is noise.
 */
v8.setFlagsFromString('--expose-gc');
v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
const gc = vm.runInNewContext('gc') as () => void;
function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Samples live memory while `work` runs (the BFF, the upstream and the client all run in this
 * process); resolves with its result and the peak growth in bytes. A body held whole anywhere
 * on the way shows up as growth of its size at the end of the transfer.
 */
async function peakGrowthDuring<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = liveBytes();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, liveBytes());
  }, 100);
  try {
    const result = await work();
    peak = Math.max(peak, liveBytes());
    return { result, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

// ---------------------------------------------------------------------------------------------

describe('through the BFF to the sample API, with real tokens', () => {
  it('lists and creates items; the API sees the bearer and never a cookie', async () => {
    const { jar } = await signedIn({ API_UPSTREAM_URL: apiOrigin });

    const empty = await raw('/api/items', { headers: apiHeaders(jar) });
    expect(empty.status).toBe(200);
    expect(JSON.parse(empty.text)).toEqual({ items: [] });

    const created = await raw('/api/items', {
      method: 'POST',
      headers: apiHeaders(jar, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'milk' }),
    });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.text)).toMatchObject({ name: 'milk', id: expect.any(String) });

    const listed = await raw('/api/items', { headers: apiHeaders(jar) });
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.text).items).toEqual([expect.objectContaining({ name: 'milk' })]);

    const echo = await raw('/api/echo?x=1', { headers: apiHeaders(jar, { authorization: 'Bearer forged' }) });
    expect(echo.status).toBe(200);
    const seen = JSON.parse(echo.text) as EchoBody;
    expect(seen.sub).toBe(DEV_USERS[0]!.claims.sub);
    expect(seen.headers.authorization).toBe('[redacted]');
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-csrf']).toBeUndefined();
    expect(seen.rawQuery).toBe('x=1');
  });

  it('refuses to forward without a session: the API is never asked', async () => {
    await h.startBff({ API_UPSTREAM_URL: rec.origin });
    const res = await raw('/api/items', { headers: API_HEADERS });
    expect(errorOf(res)).toEqual({ status: 401, error: 'unauthenticated' });
    expect(rec.requests).toEqual([]);
  });
});

describe('header hygiene, request by request (recording upstream)', () => {
  it('strips client credentials, hop-by-hop and forwarding headers, and sets its own', async () => {
    const { jar } = await signedIn({ API_UPSTREAM_URL: `${rec.origin}/base/` });
    const session = await sessionIn(jar);
    const body = '{"name":"x"}';

    const res = await raw('/api/things/42?a=1&b=%20x&a=2&empty=', {
      method: 'POST',
      headers: {
        cookie: `${jar.header(h.origin)}; other_cookie=1`,
        'x-csrf': '1',
        authorization: 'Bearer client-supplied',
        connection: 'keep-alive, X-Custom-Hop',
        'x-custom-hop': 'drop me',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic eDp4',
        'proxy-connection': 'keep-alive',
        forwarded: 'for=6.6.6.6;proto=https;host=evil.example',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
        'x-forwarded-prefix': '/evil',
        'x-real-ip': '6.6.6.6',
        accept: 'application/json',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-app-header': 'kept',
      },
      body,
    });

    expect(res.status).toBe(200);
    expect(rec.requests).toHaveLength(1);
    const seen = rec.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/base/things/42?a=1&b=%20x&a=2&empty=');
    expect(seen.bodyBytes).toBe(Buffer.byteLength(body));
    expect(seen.headers.authorization).toBe(`Bearer ${session.accessToken}`);
    expect(seen.headers['x-forwarded-for']).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(h.origin).host);
    expect(seen.headers.host).toBe(new URL(rec.origin).host);
    expect(seen.headers['x-app-header']).toBe('kept');
    expect(seen.headers.accept).toBe('application/json');
    expect(seen.headers['content-type']).toBe('application/json');
    for (const name of [
      'cookie',
      'x-csrf',
      'x-custom-hop',
      'keep-alive',
      'te',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
      'forwarded',
      'x-forwarded-port',
      'x-forwarded-prefix',
      'x-real-ip',
    ]) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(seen.headers.connection ?? '').not.toMatch(/x-custom-hop/i);
    // No header value anywhere carries the client's spoofed data or its cookie.
    expect(JSON.stringify(seen.headers)).not.toMatch(/6\.6\.6\.6|evil\.example|client-supplied|bff_session/);

    // The upstream's answer: no cookie planted on our origin, no CORS grant, no hop-by-hop.
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(Object.keys(res.headers).filter((n) => n.startsWith('access-control-'))).toEqual([]);
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['x-upstream']).toBe('kept');
    expect(JSON.parse(res.text)).toEqual({ ok: true, bodyBytes: Buffer.byteLength(body) });
  });

  it('refuses an Upgrade on a route without websocket, and forwards nothing', async () => {
    const { bff, jar } = await signedIn();
    const res = await raw('/api/socket', {
      headers: apiHeaders(jar, {
        connection: 'Upgrade',
        upgrade: 'websocket',
        origin: bff.origin,
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      }),
    });
    expect(errorOf(res)).toEqual({ status: 404, error: 'no_route' });
    expect(rec.requests).toHaveLength(0);
  });

  it.each([
    ['a base path with a trailing slash', '/base/', '/api/items', '/base/items'],
    ['a base path without one', '/base', '/api/items/7', '/base/items/7'],
    ['a nested base path', '/v1/inner/', '/api/x?q=%2Fy', '/v1/inner/x?q=%2Fy'],
    ['no base path', '', '/api/items/a%20b', '/items/a%20b'],
    ['/api alone', '/base/', '/api', '/base'],
    ['/api/ alone', '/base/', '/api/?x=1', '/base/?x=1'],
  ])('honours %s', async (_, basePath, requestPath, expected) => {
    const { jar } = await signedIn({ API_UPSTREAM_URL: `${rec.origin}${basePath}` });
    const res = await raw(requestPath, { headers: apiHeaders(jar) });
    expect(res.status).toBe(200);
    expect(rec.requests.map((r) => r.url)).toEqual([expected]);
  });

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
    'forwards %s with its body and the bearer',
    async (method) => {
      const { jar } = await signedIn();
      const session = await sessionIn(jar);
      const body = method === 'GET' || method === 'HEAD' ? undefined : 'x'.repeat(1000);
      const res = await raw('/api/things/1', {
        method,
        headers: apiHeaders(jar, body ? { 'content-type': 'text/plain' } : {}),
        body,
      });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(rec.requests).toHaveLength(1);
      expect(rec.requests[0]).toMatchObject({
        method,
        url: '/things/1',
        bodyBytes: body ? 1000 : 0,
        headers: expect.objectContaining({ authorization: `Bearer ${session.accessToken}` }),
      });
    },
  );

  it.each(['TRACE', 'PROPFIND', 'MKCOL', 'PURGE', 'LINK', 'SEARCH'])(
    'answers %s with 405 method_not_allowed and forwards nothing',
    async (method) => {
      const { jar } = await signedIn();
      const res = await raw('/api/things/1', { method, headers: apiHeaders(jar) });
      expect(errorOf(res)).toEqual({ status: 405, error: 'method_not_allowed' });
      expect(res.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(rec.requests).toEqual([]);
    },
  );

  it('never tunnels a CONNECT (405 or the connection is dropped) and forwards nothing', async () => {
    const { jar } = await signedIn();
    const outcome = await raw('/api/things', { method: 'CONNECT', headers: apiHeaders(jar) }).then(
      (res) => errorOf(res),
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect([{ status: 405, error: 'method_not_allowed' }, 'ECONNRESET', 'EPIPE']).toContainEqual(outcome);
    expect(rec.requests).toEqual([]);
  });
});

describe('refusals: nothing reaches the upstream', () => {
  it('401 unauthenticated without a session, or with one that does not open', async () => {
    await h.startBff({ API_UPSTREAM_URL: rec.origin });
    const none = await raw('/api/items', { headers: API_HEADERS });
    expect(errorOf(none)).toEqual({ status: 401, error: 'unauthenticated' });

    const garbage = await raw('/api/items', {
      method: 'POST',
      headers: { ...API_HEADERS, cookie: `${SESSION}=not-a-sealed-session` },
      body: 'x',
    });
    expect(errorOf(garbage)).toEqual({ status: 401, error: 'unauthenticated' });
    expect(clearsSession(garbage)).toBe(true);
    expect(rec.requests).toEqual([]);
  });

  it.each<[string, OutgoingHttpHeaders]>([
    ['no X-CSRF', {}],
    ['X-CSRF: 0', { 'x-csrf': '0' }],
    ['X-CSRF: 1 from a cross-site page', { 'x-csrf': '1', 'sec-fetch-site': 'cross-site' }],
  ])('403 csrf_required with %s, the session kept', async (_, headers) => {
    const { bff, jar } = await signedIn();
    const res = await raw('/api/items', {
      method: 'POST',
      headers: { cookie: jar.header(h.origin), ...headers },
    });
    expect(errorOf(res)).toEqual({ status: 403, error: 'csrf_required' });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(rec.requests).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('forwards with X-CSRF: 1 from the same origin (control for the cases above)', async () => {
    const { jar } = await signedIn();
    const res = await raw('/api/items', { headers: apiHeaders(jar, { 'sec-fetch-site': 'same-origin' }) });
    expect(res.status).toBe(200);
    expect(rec.requests).toHaveLength(1);
  });

  describe('400 bad_request for a path that would escape the upstream base', () => {
    let jar: CookieJar;
    beforeAll(async () => {
      ({ jar } = await signedIn({ API_UPSTREAM_URL: `${rec.origin}/base/` }));
    });

    it.each([
      '/api/..',
      '/api/../admin',
      '/api/items/../../admin',
      '/api/./items',
      '/api/%2e%2e/admin',
      '/api/%2E%2E/admin',
      '/api/.%2e/admin',
      '/api/%2e./admin',
      '/api/%252e%252e/admin',
      '/api/%25252e%25252e/admin',
      '/api/items%2f..%2fadmin',
      '/api/items%2F..%2Fadmin',
      '/api/items%252f..%252fadmin',
      '/api/items%5c..%5cadmin',
      '/api/items%5C..%5Cadmin',
      '/api/items%255c..%255cadmin',
      '/api/items\\..\\admin',
      '/api/items%00',
      '/api/items/%E0%A4%A',
    ])('%s', async (path) => {
      const res = await raw(path, { headers: apiHeaders(jar) });
      expect(errorOf(res)).toEqual({ status: 400, error: 'bad_request' });
      expect(rec.requests).toEqual([]);
    });

    it('forwards a harmless path with dots in names (control)', async () => {
      const res = await raw('/api/a.b/..c/c..?p=../x', { headers: apiHeaders(jar) });
      expect(res.status).toBe(200);
      expect(rec.requests.map((r) => r.url)).toEqual(['/base/a.b/..c/c..?p=../x']);
    });
  });
});

describe('refresh before forwarding', () => {
  it('20 parallel calls with an expired token: one refresh grant, all 200, every returned cookie works', async () => {
    const { bff, jar } = await signedIn({ API_UPSTREAM_URL: apiOrigin });
    const before = await expireAccessToken(jar);
    const staleCookie = jar.header(h.origin);
    h.idp.events.clear();

    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        raw('/api/items', { headers: { ...API_HEADERS, cookie: staleCookie } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(h.idp.events.grantCount('refresh_token')).toBe(1);
    expect(h.idp.events.tokenErrors).toEqual([]);

    const returned = results.map((r) => sessionCookiesSet(r));
    for (const cookies of returned) expect(cookies.length).toBeGreaterThan(0);
    const refreshed = new CookieJar();
    refreshed.store(h.origin, new Response(null, { headers: returned[19]!.map((c) => ['set-cookie', c]) }));
    const after = await sessionIn(refreshed);
    expect(after.sid).toBe(before.sid);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessTokenExpiresAt).toBeGreaterThan(Date.now() / 1000 + 60);

    // Each browser's new cookie works, without another grant.
    for (const cookies of returned) {
      const cookie = cookies.map((c) => c.slice(0, c.indexOf(';'))).join('; ');
      const res = await raw('/api/items', { headers: { ...API_HEADERS, cookie } });
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    // A late request with the pre-rotation cookie gets the remembered result, not a second grant
    // (which would redeem a rotated refresh token and make the IdP revoke the whole grant).
    const late = await raw('/api/items', { headers: { ...API_HEADERS, cookie: staleCookie } });
    expect(late.status).toBe(200);
    expect(sessionCookiesSet(late).length).toBeGreaterThan(0);
    expect(h.idp.events.grantCount('refresh_token')).toBe(1);
    expect(h.idp.events.tokenErrors).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar: refreshed })).status).toBe(200);

    // No token ever reaches a log line or a response body.
    const secrets = [before, after].flatMap((s) => [s.accessToken, s.refreshToken!, s.idToken!]);
    const seen = [...bff.logs, ...results.map((r) => r.text), late.text].join('\n');
    for (const secret of secrets) expect(seen).not.toContain(secret);
  });

  it('forwards the new bearer, and only the BFF sets cookies', async () => {
    const { jar } = await signedIn();
    const before = await expireAccessToken(jar);
    const res = await raw('/api/things', { headers: apiHeaders(jar) });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']?.every((c) => c.startsWith(`${SESSION}`))).toBe(true);
    jar.store(
      h.origin,
      new Response(null, { headers: sessionCookiesSet(res).map((c) => ['set-cookie', c]) }),
    );
    const after = await sessionIn(jar);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(rec.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${after.accessToken}`]);
  });

  it('reads a chunked session cookie and rewrites it, chunks and all, on refresh', async () => {
    const { bff, jar } = await signedIn();
    const session = await sessionIn(jar);
    // Group names that do not compress (random) make the sealed session span two cookies.
    const groups = Array.from({ length: 150 }, () => randomBytes(12).toString('hex'));
    await putSession(jar, {
      ...session,
      user: { ...session.user, groups },
      accessTokenExpiresAt: Math.floor(Date.now() / 1000) - 10,
    });
    const chunked = jar.names().filter((n) => n.startsWith(SESSION));
    expect(chunked.length).toBeGreaterThan(1);
    expect(chunked.every((n) => /^bff_session\.\d$/.test(n))).toBe(true);

    const res = await raw('/api/things', { headers: apiHeaders(jar) });
    expect(res.status).toBe(200);
    jar.store(
      h.origin,
      new Response(null, { headers: sessionCookiesSet(res).map((c) => ['set-cookie', c]) }),
    );
    expect(jar.names().filter((n) => n.startsWith(SESSION)).length).toBeGreaterThan(1);
    const after = await sessionIn(jar);
    expect(after.user.groups).toEqual(groups);
    expect(after.accessToken).not.toBe(session.accessToken);
    expect(rec.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${after.accessToken}`]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('a refused refresh (grant revoked at the IdP) ends the session: 401 session_expired, cookie cleared', async () => {
    const { bff, jar } = await signedIn();
    const session = await expireAccessToken(jar);
    const revoked = await fetch(`${h.idp.issuer}/v1/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${DEV_IDP.clientId}:${DEV_IDP.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: session.refreshToken!, token_type_hint: 'refresh_token' }),
    });
    expect(revoked.status).toBe(200);
    h.idp.events.clear();

    const res = await raw('/api/things', { method: 'POST', headers: apiHeaders(jar), body: 'x' });
    expect(errorOf(res)).toEqual({ status: 401, error: 'session_expired' });
    expect(clearsSession(res)).toBe(true);
    expect(h.idp.events.tokenErrors.map((e) => e.error)).toEqual(['invalid_grant']);
    expect(rec.requests).toEqual([]);
    jar.store(
      h.origin,
      new Response(null, { headers: (res.headers['set-cookie'] ?? []).map((c) => ['set-cookie', c]) }),
    );
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  describe('with IdP faults injected by msw', () => {
    const msw = setupServer();
    const tokenEndpoint = () => `${h.idp.issuer}/v1/token`;
    beforeAll(() => msw.listen({ onUnhandledRequest: 'bypass' }));
    afterEach(() => msw.resetHandlers());
    afterAll(() => msw.close());

    it('invalid_grant from the token endpoint: 401 session_expired, cookie cleared, nothing forwarded', async () => {
      const { jar } = await signedIn();
      await expireAccessToken(jar);
      msw.use(
        mswHttp.post(tokenEndpoint(), () =>
          HttpResponse.json({ error: 'invalid_grant', error_description: 'revoked' }, { status: 400 }),
        ),
      );
      const res = await raw('/api/things', { headers: apiHeaders(jar) });
      expect(errorOf(res)).toEqual({ status: 401, error: 'session_expired' });
      expect(clearsSession(res)).toBe(true);
      expect(rec.requests).toEqual([]);
    });

    const outages = [
      ['a network error', () => HttpResponse.error()],
      ['503', () => new HttpResponse('down for maintenance', { status: 503 })],
    ] as const;

    it.each(outages)(
      'IdP unreachable (%s) while the token is still valid: forwarded as is',
      async (_, answer) => {
        const { jar } = await signedIn();
        const session = await expireAccessToken(jar, 30);
        let attempts = 0;
        msw.use(
          mswHttp.post(tokenEndpoint(), () => {
            attempts++;
            return answer();
          }),
        );
        const res = await raw('/api/things', { headers: apiHeaders(jar) });
        expect(res.status).toBe(200);
        expect(attempts).toBe(1);
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(rec.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${session.accessToken}`]);
      },
    );

    it.each(outages)(
      'IdP unreachable (%s) with the token expired: 503 idp_unavailable, the session kept',
      async (_, answer) => {
        const { jar } = await signedIn();
        await expireAccessToken(jar);
        msw.use(mswHttp.post(tokenEndpoint(), answer));
        const res = await raw('/api/things', { headers: apiHeaders(jar) });
        expect(errorOf(res)).toEqual({ status: 503, error: 'idp_unavailable' });
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(rec.requests).toEqual([]);

        // The IdP is back: the same cookie refreshes and is forwarded.
        msw.resetHandlers();
        const again = await raw('/api/things', { headers: apiHeaders(jar) });
        expect(again.status).toBe(200);
        expect(sessionCookiesSet(again).length).toBeGreaterThan(0);
        expect(rec.requests).toHaveLength(1);
      },
    );
  });
});

describe('upstream failures leave the session alone', () => {
  let closedPortNumber: number;
  beforeAll(async () => {
    closedPortNumber = await closedPort();
  });

  it('502 upstream_unavailable when the upstream refuses connections', async () => {
    const { bff, jar } = await signedIn({ API_UPSTREAM_URL: `http://127.0.0.1:${closedPortNumber}` });
    const res = await raw('/api/items', { headers: apiHeaders(jar) });
    expect(errorOf(res)).toEqual({ status: 502, error: 'upstream_unavailable' });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it.each([
    ['502', () => `http://127.0.0.1:${closedPortNumber}`, '/api/items', 'upstream_unavailable'],
    ['504', () => rec.origin, '/api/hang', 'upstream_timeout'],
  ])(
    'a %s right after a refresh still hands the browser its rotated cookie',
    async (status, upstream, path, code) => {
      const { bff, jar } = await signedIn({ API_UPSTREAM_URL: upstream(), API_UPSTREAM_TIMEOUT_MS: '300' });
      const before = await expireAccessToken(jar);
      const res = await raw(path, { headers: apiHeaders(jar) });
      expect(errorOf(res)).toEqual({ status: Number(status), error: code });
      // The old refresh token is spent: without the new cookie the browser would be signed out.
      expect(sessionCookiesSet(res).length).toBeGreaterThan(0);
      expect(clearsSession(res)).toBe(false);
      jar.store(
        h.origin,
        new Response(null, { headers: sessionCookiesSet(res).map((c) => ['set-cookie', c]) }),
      );
      expect((await sessionIn(jar)).refreshToken).not.toBe(before.refreshToken);
      expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    },
  );

  it('504 upstream_timeout within the configured time when the upstream never answers', async () => {
    const { bff, jar } = await signedIn({ API_UPSTREAM_TIMEOUT_MS: '300' });
    const started = performance.now();
    const res = await raw('/api/hang', { headers: apiHeaders(jar) });
    const elapsed = performance.now() - started;
    expect(errorOf(res)).toEqual({ status: 504, error: 'upstream_timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 5_000);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(rec.requests.map((r) => r.url)).toEqual(['/hang']);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('cuts the client off when the response body stops flowing for the configured time', async () => {
    const { bff, jar } = await signedIn({ API_UPSTREAM_TIMEOUT_MS: '300' });
    const started = performance.now();
    await expect(raw('/api/stall', { headers: apiHeaders(jar) })).rejects.toThrow(/aborted|socket hang up/);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 5_000);
    expect(rec.requests.map((r) => r.url)).toEqual(['/stall']);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('does not count a slow upload against the upstream: the timeout starts once the body is sent', async () => {
    const { jar } = await signedIn({ API_UPSTREAM_TIMEOUT_MS: '1000' });
    const chunks = 25;
    // 2.5 s in all, 100 ms between chunks: longer than the timeout, never silent for long.
    const body = new PassThrough();
    const sending = (async () => {
      for (let i = 0; i < chunks; i++) {
        body.write(Buffer.alloc(1024));
        await setTimeout(100);
      }
      body.end();
    })();
    const res = await raw('/api/upload', { method: 'POST', headers: apiHeaders(jar), body });
    await sending;
    expect(res.status).toBe(200);
    expect(rec.requests[0]).toMatchObject({ bodyBytes: chunks * 1024, bodyDone: true });
  });

  it('keeps serving other requests while one hangs', async () => {
    const { jar } = await signedIn({ API_UPSTREAM_TIMEOUT_MS: '3000' });
    let hangSettled = false;
    const hanging = raw('/api/hang', { headers: apiHeaders(jar) }).finally(() => {
      hangSettled = true;
    });
    await rec.waitForRequests(1);
    const others = await Promise.all(
      Array.from({ length: 5 }, (_, i) => raw(`/api/items/${i}`, { headers: apiHeaders(jar) })),
    );
    expect(others.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(hangSettled).toBe(false);
    expect(errorOf(await hanging)).toEqual({ status: 504, error: 'upstream_timeout' });
  });
});

describe('streaming: large bodies pass without being buffered', () => {
  const SIZE = 50 * MB;

  it('uploads 50 MB to the upstream with flat memory', async () => {
    const { jar } = await signedIn();
    const { result, growth } = await peakGrowthDuring(() =>
      raw('/api/upload', {
        method: 'PUT',
        headers: apiHeaders(jar, { 'content-type': 'application/octet-stream' }),
        body: zeroStream(SIZE),
      }),
    );
    expect(result.status).toBe(200);
    expect(rec.requests[0]).toMatchObject({ method: 'PUT', bodyBytes: SIZE, bodyDone: true });
    expect(JSON.parse(result.text)).toEqual({ ok: true, bodyBytes: SIZE });
    expect(growth).toBeLessThan(25 * MB);
  }, 60_000);

  it('downloads 50 MB from the sample API with flat memory', async () => {
    const { jar } = await signedIn({ API_UPSTREAM_URL: apiOrigin });
    const { result, growth } = await peakGrowthDuring(() =>
      raw(`/api/bytes?n=${SIZE}`, { headers: apiHeaders(jar) }),
    );
    expect(result.status).toBe(200);
    expect(result.headers['content-length']).toBe(String(SIZE));
    expect(result.bytes).toBe(SIZE);
    expect(growth).toBeLessThan(25 * MB);
  }, 60_000);
});
