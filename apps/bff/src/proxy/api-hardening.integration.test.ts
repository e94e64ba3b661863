/**
 * The gateway's protocol edges (issue: harden the protocol edges), over real HTTP against the
 * embedded IdP and a recording upstream: the anti-forgery rule with `Origin` and Fetch Metadata,
 * identity and routing headers, shared caches, and refreshed ID tokens. msw only rewrites IdP
 * answers that a real provider will not produce on demand. Every refusal shows that nothing
 * reached the upstream.
 */
import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { MANY_GROUPS_COUNT, MANY_GROUPS_USER } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { bypass, HttpResponse, http as mswHttp } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearsSession, errorOf, type Gateway, sessionCookiesSet, startGateway } from '../testing/gateway.ts';
import { CookieJar, DEV_USERS, signIn } from '../testing/harness.ts';

let g: Gateway;
const msw = setupServer();
const TEST_KID = 'refresh-forging-key';
let testKey: CryptoKey;
let otherKey: CryptoKey;
let testJwk: JWK;

beforeAll(async () => {
  g = await startGateway();
  const pair = await generateKeyPair('RS256');
  testKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  testJwk = { ...(await exportJWK(pair.publicKey)), kid: TEST_KID, alg: 'RS256', use: 'sig' };
  msw.listen({ onUnhandledRequest: 'bypass' });
});
afterEach(() => {
  msw.resetHandlers();
  g.rec.requests.length = 0;
});
afterAll(async () => {
  msw.close();
  await g?.close();
});

describe('anti-forgery: X-CSRF, Origin and Sec-Fetch-Site on /api and /auth/logout', () => {
  const refused: [string, OutgoingHttpHeaders][] = [
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['an Origin of a sibling port', { origin: 'http://localhost:1' }],
    ['Origin: null (sandboxed frame, file:)', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site: none (typed or bookmarked)', { 'sec-fetch-site': 'none' }],
  ];

  it.each(refused)(
    '/api: 403 csrf_required with X-CSRF: 1 but %s; nothing forwarded, session kept',
    async (_, extra) => {
      const { bff, jar } = await g.signedIn();
      const res = await g.raw('/api/items', {
        method: 'POST',
        headers: g.apiHeaders(jar, extra),
        body: '{}',
      });
      expect(errorOf(res)).toEqual({ status: 403, error: 'csrf_required' });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(g.rec.requests).toEqual([]);
      expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    },
  );

  it.each(refused)(
    '/auth/logout: 403 csrf_required with X-CSRF: 1 but %s; the session stays',
    async (_, extra) => {
      const { bff, jar } = await g.signedIn();
      const res = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar, extra) });
      expect(errorOf(res)).toEqual({ status: 403, error: 'csrf_required' });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    },
  );

  it('forwards and signs out when Origin is the app origin and Sec-Fetch-Site is same-origin (control)', async () => {
    const { bff, jar } = await g.signedIn();
    const same = { origin: g.h.origin, 'sec-fetch-site': 'same-origin' };
    expect(
      (await g.raw('/api/items', { method: 'POST', headers: g.apiHeaders(jar, same), body: '{}' })).status,
    ).toBe(200);
    expect(g.rec.requests).toHaveLength(1);
    const logout = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar, same) });
    expect(logout.status).toBe(200);
    expect(clearsSession(logout)).toBe(true);
    expect(bff.origin).toBe(g.h.origin);
  });
});

describe('identity and routing headers never reach the upstream from the client', () => {
  it('drops every header an API or proxy might trust for the caller or the route', async () => {
    const { jar } = await g.signedIn();
    const spoofed: OutgoingHttpHeaders = {
      'x-real-ip': '6.6.6.6',
      'x-client-ip': '6.6.6.6',
      'true-client-ip': '6.6.6.6',
      'cf-connecting-ip': '6.6.6.6',
      'fastly-client-ip': '6.6.6.6',
      'x-cluster-client-ip': '6.6.6.6',
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      'x-original-host': 'evil.example',
      'x-original-uri': '/admin',
      'x-host': 'evil.example',
      'x-http-method-override': 'DELETE',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-server': 'evil.example',
      'x-forwarded-user': 'admin',
      'x-forwarded-email': 'admin@example.com',
      'x-user': 'admin',
      'x-user-id': 'admin',
      'x-userinfo': 'e30',
      'x-auth-user': 'admin',
      'x-auth-request-email': 'admin@example.com',
      'x-authenticated-user': 'admin',
      'x-authenticated-userid': 'admin',
      'x-remote-user': 'admin',
      'x-remote-group': 'admins',
      'remote-user': 'admin',
      'x-amzn-oidc-identity': 'admin',
      'x-ms-client-principal-name': 'admin',
      'x-goog-authenticated-user-email': 'admin@example.com',
      'x-envoy-original-path': '/admin',
      'x-api-key': 'client-key',
      dpop: 'client-proof',
      'x-app-header': 'kept',
    };
    const res = await g.raw('/api/things', { headers: g.apiHeaders(jar, spoofed) });
    expect(res.status).toBe(200);
    const seen = g.rec.requests[0]!.headers;
    for (const name of Object.keys(spoofed)) {
      if (name === 'x-app-header' || name === 'x-forwarded-for' || name === 'x-forwarded-host') continue;
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen['x-app-header']).toBe('kept');
    expect(seen['x-forwarded-for']).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(seen['x-forwarded-host']).toBe(new URL(g.h.origin).host);
    expect(JSON.stringify(seen)).not.toMatch(/6\.6\.6\.6|evil\.example|admin|client-key|client-proof/);
  });
});

describe('/api answers are never stored by a shared cache', () => {
  it('adds Cache-Control: no-store when the upstream sends none, and keeps the upstream’s own', async () => {
    const { jar } = await g.signedIn();
    const plain = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(plain.status).toBe(200);
    expect(plain.headers['cache-control']).toBe('no-store');
    const own = await g.raw('/api/cache?cc=private%2C%20max-age%3D60', { headers: g.apiHeaders(jar) });
    expect(own.headers['cache-control']).toBe('private, max-age=60');
  });
});

describe('refreshed ID tokens (OpenID Connect Core §12.2)', () => {
  const tokenEndpoint = () => `${g.h.idp.issuer}/v1/token`;
  const user = DEV_USERS[0]!;

  /** The IdP's real keys plus one whose private half the test holds. */
  function serveJwksWithTestKey() {
    msw.use(
      mswHttp.get(`${g.h.idp.issuer}/v1/keys`, async ({ request }) => {
        const real = (await (await fetch(bypass(request))).json()) as { keys: JWK[] };
        return HttpResponse.json({ keys: [...real.keys, testJwk] });
      }),
    );
  }

  /** The real refresh (real rotation at the IdP), with its ID token replaced by `forge(claims)`. */
  function replaceRefreshedIdToken(forge: (claims: JWTPayload) => Promise<string>) {
    msw.use(
      mswHttp.post(tokenEndpoint(), async ({ request }) => {
        const real = await fetch(bypass(request));
        const body = (await real.json()) as Record<string, unknown>;
        if (typeof body.id_token !== 'string') return HttpResponse.json(body, { status: real.status });
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          iss: g.h.idp.issuer,
          aud: DEV_IDP.clientId,
          sub: user.claims.sub,
          iat: now,
          exp: now + 300,
        };
        return HttpResponse.json({ ...body, id_token: await forge(claims) });
      }),
    );
  }

  const sign = (claims: JWTPayload, key = testKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: TEST_KID, typ: 'JWT' }).sign(key);

  /** Signed in (with the test key already in the BFF's JWKS cache), the access token expired. */
  async function dueForRefresh() {
    serveJwksWithTestKey();
    const signed = await g.signedIn();
    await g.expireAccessToken(signed.jar);
    g.h.idp.events.clear();
    return signed;
  }

  it('accepts a refreshed ID token that verifies and names the same iss, sub and aud (control)', async () => {
    const { jar } = await dueForRefresh();
    replaceRefreshedIdToken((claims) => sign(claims));
    const res = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(res.status).toBe(200);
    expect(sessionCookiesSet(res).length).toBeGreaterThan(0);
    expect(g.rec.requests).toHaveLength(1);
  });

  it.each<[string, (claims: JWTPayload) => Promise<string>]>([
    ['another sub', (claims) => sign({ ...claims, sub: '00uSomeoneElse0000001' })],
    [
      'another aud beside ours',
      (claims) => sign({ ...claims, aud: [DEV_IDP.clientId, 'other'], azp: DEV_IDP.clientId }),
    ],
    ['another iss', (claims) => sign({ ...claims, iss: 'https://evil.example/oauth2/default' })],
    ['a bad signature', (claims) => sign(claims, otherKey)],
    ['an iat ten minutes old', (claims) => sign({ ...claims, iat: (claims.iat ?? 0) - 600 })],
    [
      'alg none',
      async (claims) => {
        const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
      },
    ],
  ])(
    'a refreshed ID token with %s ends the session: 401 session_expired, cleared, revoked, nothing forwarded',
    async (_, forge) => {
      const { bff, jar } = await dueForRefresh();
      replaceRefreshedIdToken(forge);
      const res = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
      expect(errorOf(res)).toEqual({ status: 401, error: 'session_expired' });
      expect(clearsSession(res)).toBe(true);
      expect(g.rec.requests).toEqual([]);
      expect(g.h.idp.events.tokenGrants.filter((t) => t.grantType === 'refresh_token')).toHaveLength(1);
      if (!_.includes('iss') && !_.includes('alg none')) {
        // The refresh token that came with the refused answer is revoked (best effort).
        expect(g.h.idp.events.revokedRefreshTokenCount).toBe(1);
      }
      expect(bff.logs.join('')).toMatch(/"event":"session_ended".*"reason":"invalid_response"/);
    },
  );

  it('a refresh answer that is not OAuth ends the session instead of passing for an outage', async () => {
    const { jar } = await dueForRefresh();
    msw.use(mswHttp.post(tokenEndpoint(), () => new HttpResponse('<html>hello</html>', { status: 200 })));
    const res = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(errorOf(res)).toEqual({ status: 401, error: 'session_expired' });
    expect(clearsSession(res)).toBe(true);
    expect(g.rec.requests).toEqual([]);
  });
});

describe('a user in 300 groups, in the cookie store', () => {
  const GROUPS_SCOPES = { OKTA_SCOPES: 'openid profile email offline_access groups' };

  it('signs in, calls the API and refreshes, with every cookie ≤ 4096 bytes and the Cookie header ≤ 8 KB', async () => {
    const { bff, jar } = await g.signedIn(GROUPS_SCOPES, { user: MANY_GROUPS_USER });
    const session = await g.sessionIn(jar);
    expect(session.user.groups).toHaveLength(MANY_GROUPS_COUNT);
    expect(session.idToken!.length).toBeGreaterThan(10_000);
    expect(session.accessToken.length).toBeGreaterThan(10_000);
    const cookieHeader = jar.header(g.h.origin);
    expect(cookieHeader.length).toBeLessThanOrEqual(8 * 1024);
    for (const name of jar.names()) expect(name.length + (jar.get(name)?.length ?? 0)).toBeLessThan(4096);

    const user = (await (await bff.fetch('/auth/user', { jar })).json()) as { user: { groups: string[] } };
    expect(user.user.groups).toHaveLength(MANY_GROUPS_COUNT);
    const first = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(first.status).toBe(200);
    expect(g.rec.requests[0]!.headers.authorization).toBe(`Bearer ${session.accessToken}`);

    await g.expireAccessToken(jar);
    const refreshed = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(refreshed.status).toBe(200);
    for (const cookie of sessionCookiesSet(refreshed))
      expect(Buffer.byteLength(cookie)).toBeLessThanOrEqual(4096);
    jar.store(
      g.h.origin,
      new Response(null, { headers: sessionCookiesSet(refreshed).map((c) => ['set-cookie', c]) }),
    );
    expect(jar.header(g.h.origin).length).toBeLessThanOrEqual(8 * 1024);
    expect((await g.sessionIn(jar)).accessToken).not.toBe(session.accessToken);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
  });

  it('ends a login that cannot fit with login_error=session_too_large and a log line naming SESSION_STORE=redis', async () => {
    // Claims that do not compress (random), far beyond what cookies hold.
    const blob = randomBytes(8 * 1024).toString('hex');
    msw.use(
      mswHttp.get(`${g.h.idp.issuer}/v1/userinfo`, async ({ request }) => {
        const real = (await (await fetch(bypass(request))).json()) as Record<string, unknown>;
        return HttpResponse.json({ ...real, profile_blob: blob });
      }),
    );
    const bff = await g.h.startBff();
    const jar = new CookieJar();
    const { callback } = await signIn(bff, jar);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/?login_error=session_too_large');
    expect(callback.headers.getSetCookie().filter((c) => /^bff_session[.\d]*=[^;]/.test(c))).toEqual([]);
    expect(jar.names().filter((n) => n.startsWith('bff_'))).toEqual([]);
    expect(bff.logs.join('')).toMatch(/"code":"session_too_large".*SESSION_STORE=redis/);
    // The next request is an ordinary signed-out one, never a 431.
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });
});
