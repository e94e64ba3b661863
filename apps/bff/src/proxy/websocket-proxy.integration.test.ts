/**
 * WebSockets under `/api` with the default cookie store, over real sockets: the embedded IdP, a
 * real `ws` upstream, and the BFF as its `http.Server` (`websocket-testing.ts`).
 */
import { createHash } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Tracing } from '../ops/tracing.ts';
import { CookieJar, createHarness, type Harness, signIn } from '../testing/harness.ts';
import { MAX_SOCKETS_PER_SESSION } from './websocket-proxy.ts';
import { MAX_PAYLOAD_BYTES } from './websocket-relay.ts';
import {
  closeOf,
  eventually,
  nextMessage,
  opened,
  recordingMetrics,
  refusal,
  startWsBff,
  startWsUpstream,
  type WsBff,
  type WsUpstream,
  wsRoutes,
} from './websocket-testing.ts';

let h: Harness;
let up: WsUpstream;
const started: WsBff[] = [];
beforeAll(async () => {
  [h, up] = await Promise.all([createHarness(), startWsUpstream()]);
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((bff) => bff.stop()));
  for (const socket of up.sockets.splice(0)) socket.terminate();
  up.handshakes.length = 0;
  up.behave({});
});
afterAll(async () => {
  await up?.close();
  await h?.close();
});

async function signedIn(env: Record<string, string> = {}, metrics = recordingMetrics()) {
  const bff = await startWsBff({ h, env: { API_ROUTES: wsRoutes(up.origin), ...env }, metrics });
  started.push(bff);
  const jar = new CookieJar();
  await signIn(bff, jar);
  return { bff, jar, metrics };
}

describe('the handshake is refused before any upstream connection', () => {
  it('from another origin, even with a valid session cookie (cross-site WebSocket hijacking): 403', async () => {
    const { bff, jar } = await signedIn();
    expect(refusal(await bff.dial('/api/live', { jar, origin: 'https://evil.example' }))).toEqual({
      status: 403,
      error: 'csrf_required',
    });
    expect(refusal(await bff.dial('/api/live', { jar, origin: null }))).toEqual({
      status: 403,
      error: 'csrf_required',
    });
    // `Sec-Fetch-Site` says another site even though Origin was forged to look right.
    expect(refusal(await bff.dial('/api/live', { jar, headers: { 'sec-fetch-site': 'same-site' } }))).toEqual(
      { status: 403, error: 'csrf_required' },
    );
    expect(up.handshakes).toEqual([]);
  });

  it('on a path no route serves, or a route without websocket: 404 no_route', async () => {
    const { bff, jar } = await signedIn();
    for (const path of ['/api/elsewhere', '/api/plain', '/api/plain/x', '/api/livex']) {
      expect(refusal(await bff.dial(path, { jar })), path).toEqual({ status: 404, error: 'no_route' });
    }
    expect(up.handshakes).toEqual([]);
  });

  it('without a session on a route that needs one: 401, and a bad cookie is cleared', async () => {
    const { bff } = await signedIn();
    expect(refusal(await bff.dial('/api/live'))).toEqual({ status: 401, error: 'unauthenticated' });
    const stale = new CookieJar();
    stale.store(bff.origin, new Response(null, { headers: { 'set-cookie': 'bff_session=garbage; Path=/' } }));
    const answer = await bff.dial('/api/live', { jar: stale });
    expect(refusal(answer)).toEqual({ status: 401, error: 'unauthenticated' });
    expect('headers' in answer && String(answer.headers['set-cookie'])).toMatch(/^bff_session=;.*Max-Age=0/);
    expect(up.handshakes).toEqual([]);
  });

  it('a path that would climb out of the upstream base: 400, and non-/api upgrades stay refused', async () => {
    const { bff, jar } = await signedIn();
    expect(refusal(await bff.dial('/api/live/a%2fb', { jar }))).toEqual({
      status: 400,
      error: 'bad_request',
    });
    expect(refusal(await bff.dial('/auth/user', { jar }))).toEqual({ status: 400, error: 'bad_request' });
    expect(up.handshakes).toEqual([]);
  });
});

describe('an admitted WebSocket', () => {
  it('relays text and binary both ways with the session token, never the cookie', async () => {
    const { bff, jar, metrics } = await signedIn();
    const ws = opened(await bff.dial('/api/live/feed?topic=a', { jar }));
    ws.send('hello');
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from('hello'), isBinary: false });
    ws.send(Buffer.from([0, 1, 2, 255]));
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });

    const [handshake] = up.handshakes;
    expect(handshake?.url).toBe('/live/feed?topic=a');
    const session = await sessionAccessToken(bff, jar);
    expect(handshake?.headers.authorization).toBe(`Bearer ${session}`);
    expect(handshake?.headers.cookie).toBeUndefined();
    expect(handshake?.headers.origin).toBe(bff.config.publicOrigin);
    expect(handshake?.headers['x-forwarded-host']).toBe(new URL(bff.config.publicOrigin).host);
    expect(metrics.sockets).toEqual([['live', 1]]);

    const closed = closeOf(ws);
    ws.close(1000, 'done');
    expect((await closed).code).toBe(1000);
    await eventually(() => metrics.sockets.length === 2);
    expect(metrics.sockets).toEqual([
      ['live', 1],
      ['live', -1],
    ]);
    const lines = bff.logs.filter((l) => l.includes('websocket'));
    expect(lines.some((l) => /"msg":"websocket opened"/.test(l) && /"route":"live"/.test(l))).toBe(true);
    expect(lines.some((l) => /"msg":"websocket closed"/.test(l) && /"code":1000/.test(l))).toBe(true);
    expect(bff.logs.join('')).not.toContain(session);
  });

  it('passes the offered subprotocols on and answers with the one the upstream chose', async () => {
    const { bff, jar } = await signedIn();
    up.behave({ pick: (offered) => (offered.has('v2.live') ? 'v2.live' : false) });
    const ws = opened(await bff.dial('/api/live', { jar, protocols: ['v1.live', 'v2.live'] }));
    expect(ws.protocol).toBe('v2.live');
    expect(up.handshakes[0]?.headers['sec-websocket-protocol']).toBe('v1.live,v2.live');
    ws.terminate();
  });

  it('passes the upstream’s close codes on, and a lost upstream as 1011', async () => {
    const { bff, jar } = await signedIn();
    const first = opened(await bff.dial('/api/live', { jar }));
    let closed = closeOf(first);
    first.send('close:4000');
    expect(await closed).toMatchObject({ code: 4000, reason: 'bye' });

    const second = opened(await bff.dial('/api/live', { jar }));
    closed = closeOf(second);
    second.send('terminate');
    expect((await closed).code).toBe(1011);
  });

  it('a route with no token sends no Authorization, signed in or not', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/open', { jar }));
    const anonymous = opened(await bff.dial('/api/open'));
    expect(up.handshakes.map((x) => x.headers.authorization)).toEqual([undefined, undefined]);
    ws.terminate();
    anonymous.terminate();
  });
});

describe('the upstream refuses or does not answer', () => {
  it('a refused upstream handshake is 502 upstream_unavailable; no answer in timeoutMs is 504', async () => {
    const { bff, jar } = await signedIn({ API_ROUTES: wsRoutes(up.origin, { timeoutMs: 300 }) });
    up.behave({ refuse: { status: 401 } });
    expect(refusal(await bff.dial('/api/live', { jar }))).toEqual({
      status: 502,
      error: 'upstream_unavailable',
    });
    up.behave({ hang: true });
    const start = performance.now();
    expect(refusal(await bff.dial('/api/live', { jar }))).toEqual({ status: 504, error: 'upstream_timeout' });
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});

describe('the BFF ends the socket', () => {
  it('on logout, with 4401 within 2 s, and the upstream side too', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/live', { jar }));
    const upstreamSide = up.sockets[0] as WebSocket;
    const upstreamClosed = new Promise<number>((resolve) => upstreamSide.once('close', resolve));
    const closed = closeOf(ws);
    const logout = await bff.fetch('/auth/logout', { method: 'POST', jar, headers: { 'x-csrf': '1' } });
    expect(logout.status).toBe(200);
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(2_000);
    expect(await upstreamClosed).toBe(1000);
  });

  it('on a back-channel logout of its IdP session, with 4401', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/live', { jar }));
    const other = new CookieJar();
    await signIn(bff, other);
    const bystander = opened(await bff.dial('/api/live', { jar: other }));
    const closed = closeOf(ws);
    const sid = await idpSessionOf(bff, jar);
    const res = await bff.fetch('/auth/backchannel-logout', {
      method: 'POST',
      body: new URLSearchParams({ logout_token: await h.idp.signLogoutToken({ sid }) }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const { code, ms } = await closed;
    expect(code).toBe(4401);
    expect(ms).toBeLessThan(2_000);
    expect(bystander.readyState).toBe(WebSocket.OPEN);
    bystander.terminate();
  });

  it('at shutdown, with 1001, and the BFF exits 0', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/live', { jar }));
    const anonymous = opened(await bff.dial('/api/open'));
    const closed = [closeOf(ws), closeOf(anonymous)];
    expect(await bff.shutdown(5)).toBe(0);
    for (const { code } of await Promise.all(closed)) expect(code).toBe(1001);
  });
});

/** The jar's session's access token, as only the BFF could read it. */
async function sessionAccessToken(bff: WsBff, jar: CookieJar): Promise<string> {
  return (await sessionOf(bff, jar)).accessToken;
}

async function idpSessionOf(bff: WsBff, jar: CookieJar): Promise<string> {
  const sid = (await sessionOf(bff, jar)).idpSid;
  if (!sid) throw new Error('no IdP session id');
  return sid;
}

async function sessionOf(bff: WsBff, jar: CookieJar) {
  const { sessionCodecFor } = await import('../services.ts');
  const { readChunkedCookie } = await import('../session/store/cookies.ts');
  const cookies = Object.fromEntries(jar.names().map((name) => [name, jar.get(name) ?? '']));
  const sealed = readChunkedCookie(cookies, 'bff_session');
  const session = sealed ? await sessionCodecFor(bff.config.sessionSecrets).unsealSession(sealed) : undefined;
  if (!session) throw new Error('no session in the jar');
  return session;
}

describe('DPoP-bound tokens', () => {
  it('the upstream handshake carries Authorization: DPoP and a GET proof for its http URL, retried once with a nonce', async () => {
    const { bff, jar } = await signedIn({ API_TOKEN_TYPE: 'dpop' });
    up.behave({
      refuse: {
        status: 401,
        headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n-1' },
        once: true,
      },
    });
    const ws = opened(await bff.dial('/api/live/feed?x=1', { jar }));
    const token = await sessionAccessToken(bff, jar);
    expect(up.handshakes).toHaveLength(2);
    const proofs = up.handshakes.map((x) => {
      expect(x.headers.authorization).toBe(`DPoP ${token}`);
      return decodeJwt(String(x.headers.dpop));
    });
    for (const proof of proofs) {
      expect(proof).toMatchObject({
        htm: 'GET',
        htu: `${up.origin}/live/feed`,
        ath: createHash('sha256').update(token).digest('base64url'),
      });
    }
    expect(proofs[0]?.nonce).toBeUndefined();
    expect(proofs[1]?.nonce).toBe('n-1');
    expect(proofs[0]?.jti).not.toBe(proofs[1]?.jti);
    ws.terminate();
  });
});

describe('limits', () => {
  it('a stranger without a session cannot open sockets without bound: 32 per address, then 429', async () => {
    const { bff } = await signedIn();
    const sockets = [];
    for (let i = 0; i < MAX_SOCKETS_PER_SESSION; i++) sockets.push(opened(await bff.dial('/api/open')));
    expect(refusal(await bff.dial('/api/open'))).toEqual({ status: 429, error: 'rate_limited' });
    expect(up.handshakes).toHaveLength(MAX_SOCKETS_PER_SESSION);
    // A closed socket gives its place back.
    const first = sockets[0] as WebSocket;
    const closed = closeOf(first);
    first.close();
    await closed;
    await eventually(
      () => up.sockets.filter((x) => x.readyState === WebSocket.OPEN).length < MAX_SOCKETS_PER_SESSION,
    );
    sockets.push(opened(await bff.dial('/api/open')));
    for (const ws of sockets) ws.terminate();
  });

  it('a message over 1 MiB closes the socket with 1009', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/live', { jar }));
    const closed = closeOf(ws);
    ws.send(Buffer.alloc(MAX_PAYLOAD_BYTES + 1));
    expect((await closed).code).toBe(1009);
  });

  it('a browser that stops reading stops the BFF reading the upstream (back-pressure), and nothing is lost', async () => {
    const { bff, jar } = await signedIn();
    const ws = opened(await bff.dial('/api/live', { jar }));
    let received = 0;
    ws.on('message', (data: Buffer) => {
      received += data.length;
    });
    await eventually(() => up.sockets.length === 1);
    const upstreamSide = up.sockets[0] as WebSocket;
    ws.pause();
    const chunk = Buffer.alloc(256 * 1024, 7);
    const total = 64 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk.length) upstreamSide.send(chunk);
    // Without back-pressure the BFF would read all 64 MiB into its own memory at once.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(upstreamSide.bufferedAmount).toBeGreaterThan(32 * 1024 * 1024);
    ws.resume();
    await eventually(() => received === total, 15_000);
    expect(upstreamSide.bufferedAmount).toBe(0);
    ws.terminate();
  });
});

describe('token expiry', () => {
  let short: Harness;
  beforeAll(async () => {
    short = await createHarness({ accessTokenTtlS: 2 });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('the socket is closed with 4403 when the token the upstream accepted expires', async () => {
    const bff = await startWsBff({ h: short, env: { API_ROUTES: wsRoutes(up.origin) } });
    started.push(bff);
    const jar = new CookieJar();
    await signIn(bff, jar);
    const ws = opened(await bff.dial('/api/live', { jar }));
    const anonymous = opened(await bff.dial('/api/open'));
    const { code, reason, ms } = await closeOf(ws);
    expect(code).toBe(4403);
    expect(reason).toBe('access token expired');
    expect(ms).toBeLessThan(3_500);
    // A route without a token has no such clock.
    expect(anonymous.readyState).toBe(WebSocket.OPEN);
    anonymous.terminate();
  });
});

describe('tracing', () => {
  it('one server span per handshake, named after the route, without the query', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: async () => {} };
    const bff = await startWsBff({ h, env: { API_ROUTES: wsRoutes(up.origin) }, tracing });
    started.push(bff);
    const jar = new CookieJar();
    await signIn(bff, jar);
    exporter.reset();
    const ws = opened(await bff.dial('/api/live/7?secret=1', { jar }));
    expect(refusal(await bff.dial('/api/live', { jar, origin: 'https://evil.example' })).status).toBe(403);
    const servers = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(servers.map((s) => [s.name, s.attributes['http.response.status_code']])).toEqual([
      ['GET /api/live', 101],
      ['GET /api/live', 403],
    ]);
    expect(servers[0]?.attributes['url.path']).toBe('/api/live/7');
    expect(servers[0]?.attributes['bff.websocket']).toBe(true);
    ws.terminate();
  });
});
