/**
 * Every way a sign-in can fail at the callback: each ends in a redirect to
 * `/?login_error=<code>` with no session minted and the transaction cleared.
 * The embedded IdP runs for real; msw injects only the answers a real IdP will not give on demand
 * (forged ID tokens, 5xx, garbage, slowness) at the network boundary.
 */
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { bypass, delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bff,
  createHarness,
  DEV_USERS,
  type Harness,
  HTTPS_ORIGIN,
  sendCallback,
} from '../testing/harness.ts';

const TEST_KID = 'forging-test-key';
let h: Harness;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let testJwk: JWK;
const msw = setupServer();

beforeAll(async () => {
  h = await createHarness();
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  testJwk = { ...(await exportJWK(pair.publicKey)), kid: TEST_KID, alg: 'RS256', use: 'sig' };
  msw.listen({ onUnhandledRequest: 'bypass' });
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await h?.close();
});

const user = DEV_USERS[0]!;
const endpoint = (name: string) => `${h.idp.issuer}/v1/${name}`;

/** The IdP's real keys plus one whose private half the test holds, so claim checks can be isolated. */
function serveJwksWithTestKey() {
  msw.use(
    http.get(endpoint('keys'), async ({ request }) => {
      const real = (await (await fetch(bypass(request))).json()) as { keys: JWK[] };
      return HttpResponse.json({ keys: [...real.keys, testJwk] });
    }),
  );
}

interface Started {
  readonly bff: Bff;
  readonly jar: CookieJar;
  readonly nonce: string;
  readonly callback: { method: 'GET'; url: string } | { method: 'POST'; url: string; body: URLSearchParams };
}

/** A real login up to the point where the IdP sends the browser back. */
async function startLogin(env: Record<string, string> = {}): Promise<Started> {
  const bff = await h.startBff(env);
  const jar = new CookieJar();
  const login = await bff.fetch('/auth/login', { jar });
  const authorizeUrl = new URL(login.headers.get('location') ?? '');
  const callback = await driveIdpLogin({ authorizeUrl, username: user.login, password: user.password });
  return { bff, jar, nonce: authorizeUrl.searchParams.get('nonce') ?? '', callback };
}

/** The callback answer must be a redirect with `code`, no session, and the transaction gone. */
async function expectLoginError(res: Response, bff: Bff, jar: CookieJar, code: string) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`/?login_error=${code}`);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const setCookies = res.headers.getSetCookie();
  expect(setCookies.filter((c) => /bff_session[.\d]*=[^;]/.test(c))).toEqual([]);
  expect(jar.names().filter((n) => n.includes('bff_txn.'))).toEqual([]);
  expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
}

function idTokenClaims(s: Started, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: h.idp.issuer,
    aud: s.bff.config.clientId,
    sub: user.claims.sub,
    nonce: s.nonce,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
}

const sign = (claims: JWTPayload, key: CryptoKey | Uint8Array, alg = 'RS256', kid = TEST_KID) =>
  new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);

function answerTokenWith(idToken: string) {
  msw.use(
    http.post(endpoint('token'), () =>
      HttpResponse.json({
        access_token: 'forged-access-token',
        token_type: 'Bearer',
        expires_in: 3600,
        id_token: idToken,
      }),
    ),
    http.get(endpoint('userinfo'), () =>
      HttpResponse.json({ sub: user.claims.sub, email: user.claims.email }),
    ),
  );
}

describe('ID token validation', () => {
  it('accepts a well-formed token signed by a key in the JWKS (control for the cases below)', async () => {
    serveJwksWithTestKey();
    const s = await startLogin();
    answerTokenWith(await sign(idTokenClaims(s), signingKey));
    const res = await sendCallback(s.bff, s.jar, s.callback);
    expect(res.headers.get('location')).toBe('/');
    expect((await s.bff.fetch('/auth/user', { jar: s.jar })).status).toBe(200);
  });

  const unix = () => Math.floor(Date.now() / 1000);
  it.each<[string, (s: Started) => Promise<string>]>([
    [
      'a wrong iss',
      (s) => sign(idTokenClaims(s, { iss: 'https://evil.example/oauth2/default' }), signingKey),
    ],
    ['a wrong aud', (s) => sign(idTokenClaims(s, { aud: 'another-client' }), signingKey)],
    [
      'an extra aud',
      (s) =>
        sign(
          idTokenClaims(s, { aud: [s.bff.config.clientId, 'api://other'], azp: s.bff.config.clientId }),
          signingKey,
        ),
    ],
    ['a wrong nonce', (s) => sign(idTokenClaims(s, { nonce: 'not-the-nonce' }), signingKey)],
    ['no nonce', (s) => sign(idTokenClaims(s, { nonce: undefined }), signingKey)],
    ['an expired exp', (s) => sign(idTokenClaims(s, { iat: unix() - 7200, exp: unix() - 3600 }), signingKey)],
    [
      'an iat in the future',
      (s) => sign(idTokenClaims(s, { iat: unix() + 3600, exp: unix() + 7200 }), signingKey),
    ],
    [
      'an iat ten minutes old while exp is still valid',
      (s) => sign(idTokenClaims(s, { iat: unix() - 600, exp: unix() + 3000 }), signingKey),
    ],
    ['a bad signature', (s) => sign(idTokenClaims(s), otherKey)],
    ['an unknown kid', (s) => sign(idTokenClaims(s), otherKey, 'RS256', 'unknown-kid')],
    [
      'alg none',
      async (s) => {
        const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(idTokenClaims(s))}.`;
      },
    ],
    [
      'HS256 signed with the client secret',
      (s) => sign(idTokenClaims(s), new TextEncoder().encode(s.bff.config.clientSecret), 'HS256'),
    ],
  ])('refuses an ID token with %s', async (_, forge) => {
    serveJwksWithTestKey();
    const s = await startLogin();
    answerTokenWith(await forge(s));
    await expectLoginError(
      await sendCallback(s.bff, s.jar, s.callback),
      s.bff,
      s.jar,
      'token_exchange_failed',
    );
  });

  it('refuses userinfo for another subject', async () => {
    msw.use(http.get(endpoint('userinfo'), () => HttpResponse.json({ sub: '00uSomeoneElse' })));
    const s = await startLogin();
    await expectLoginError(
      await sendCallback(s.bff, s.jar, s.callback),
      s.bff,
      s.jar,
      'token_exchange_failed',
    );
  });
});

describe('token endpoint failures', () => {
  it.each<[string, () => Response | Promise<Response>, string]>([
    [
      '500 with an OAuth error',
      () => HttpResponse.json({ error: 'server_error' }, { status: 500 }),
      'idp_unavailable',
    ],
    [
      '500 with HTML',
      () => new HttpResponse('<h1>oops</h1>', { status: 500, headers: { 'content-type': 'text/html' } }),
      'idp_unavailable',
    ],
    [
      '200 that is not JSON',
      () => new HttpResponse('not json', { status: 200, headers: { 'content-type': 'text/plain' } }),
      'token_exchange_failed',
    ],
    [
      '400 invalid_grant',
      () => HttpResponse.json({ error: 'invalid_grant' }, { status: 400 }),
      'token_exchange_failed',
    ],
    [
      'no ID token',
      () => HttpResponse.json({ access_token: 'x', token_type: 'Bearer', expires_in: 60 }),
      'token_exchange_failed',
    ],
    [
      'an answer slower than the timeout',
      async () => {
        await delay(3_000);
        return HttpResponse.json({ error: 'too late' }, { status: 500 });
      },
      'idp_unavailable',
    ],
  ])('maps %s to a login error', async (_, answer, code) => {
    msw.use(http.post(endpoint('token'), answer));
    const s = await startLogin({ IDP_TIMEOUT_MS: '500' });
    const started = Date.now();
    await expectLoginError(await sendCallback(s.bff, s.jar, s.callback), s.bff, s.jar, code);
    expect(Date.now() - started).toBeLessThan(2_900);
  });
});

const callbackUrl = (s: Started) => new URL(s.callback.url);
const pathOf = (url: URL) => `${url.pathname}${url.search}`;

describe('login failure log lines say who refused what', () => {
  const failedLine = (bff: { logs: string[] }) =>
    JSON.parse(bff.logs.filter((l) => l.includes('"event":"login_failed"')).pop() ?? '{}') as {
      level?: number;
      reason?: string;
      code?: string;
    };

  it.each([
    [
      'a 403 unauthorized_client',
      () => HttpResponse.json({ error: 'unauthorized_client' }, { status: 403 }),
      /the IdP refused the code exchange \(HTTP 403, error=unauthorized_client/,
    ],
    [
      'a 502 that is not JSON',
      () => new HttpResponse('<h1>bad gateway</h1>', { status: 502 }),
      /the IdP could not be reached for the code exchange \(HTTP 502/,
    ],
  ])(
    '%s from the token endpoint: a warn line with the status, the OAuth error and the step',
    async (_, answer, reason) => {
      msw.use(http.post(endpoint('token'), answer));
      const s = await startLogin();
      await sendCallback(s.bff, s.jar, s.callback);
      const line = failedLine(s.bff);
      expect(line.level).toBe(40);
      expect(line.reason).toMatch(reason);
      expect(JSON.stringify(line)).not.toMatch(/client_secret|Basic /);
    },
  );

  it('a user who refused at the IdP is an info line (nothing for an operator to fix)', async () => {
    const s = await startLogin();
    const url = new URL(callbackUrl(s).pathname, s.bff.origin);
    url.searchParams.set('state', callbackUrl(s).searchParams.get('state') ?? '');
    url.searchParams.set('iss', h.idp.issuer);
    url.searchParams.set('error', 'access_denied');
    await s.bff.fetch(pathOf(url), { jar: s.jar });
    const line = failedLine(s.bff);
    expect(line.code).toBe('access_denied');
    expect(line.level).toBe(30);
  });
});

describe('authorization response checks', () => {
  it('refuses a callback without state', async () => {
    const s = await startLogin();
    const url = callbackUrl(s);
    url.searchParams.delete('state');
    const res = await s.bff.fetch(pathOf(url), { jar: s.jar });
    expect(res.headers.get('location')).toBe('/?login_error=state_mismatch');
    expect(res.headers.getSetCookie().filter((c) => c.includes('bff_session'))).toEqual([]);
  });

  it('refuses a state that is not this browser’s transaction, and leaves its own login alone', async () => {
    const s = await startLogin();
    const url = callbackUrl(s);
    url.searchParams.set('state', 'forged-state-value-000000000000');
    const res = await s.bff.fetch(pathOf(url), { jar: s.jar });
    expect(res.headers.get('location')).toBe('/?login_error=state_mismatch');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await s.bff.fetch('/auth/user', { jar: s.jar })).status).toBe(401);
    // The real callback still completes: nothing of the login in flight was touched.
    expect((await sendCallback(s.bff, s.jar, s.callback)).headers.get('location')).toBe('/');
  });

  it.each<[string, (tab: Started) => Promise<Response>]>([
    [
      'error=access_denied',
      (tab) => {
        const url = new URL(new URL(tab.callback.url).pathname, tab.bff.origin);
        url.searchParams.set('state', new URL(tab.callback.url).searchParams.get('state') ?? '');
        url.searchParams.set('iss', h.idp.issuer);
        url.searchParams.set('error', 'access_denied');
        return tab.bff.fetch(pathOf(url), { jar: tab.jar });
      },
    ],
    [
      'a token endpoint failure',
      (tab) => {
        msw.use(
          http.post(endpoint('token'), () => HttpResponse.json({ error: 'invalid_grant' }, { status: 400 })),
        );
        return sendCallback(tab.bff, tab.jar, tab.callback);
      },
    ],
    [
      'an invalid ID token',
      async (tab) => {
        serveJwksWithTestKey();
        answerTokenWith(await sign(idTokenClaims(tab, { nonce: 'another' }), signingKey));
        return sendCallback(tab.bff, tab.jar, tab.callback);
      },
    ],
  ])(
    'clears only the failed login’s transaction on %s; a login in another tab completes',
    async (_, fail) => {
      const a = await startLogin();
      // A second tab of the same browser: same jar and BFF, its own transaction.
      const login = await a.bff.fetch('/auth/login', { jar: a.jar });
      const b: Started = {
        ...a,
        callback: await driveIdpLogin({
          authorizeUrl: new URL(login.headers.get('location') ?? ''),
          username: user.login,
          password: user.password,
        }),
        nonce: new URL(login.headers.get('location') ?? '').searchParams.get('nonce') ?? '',
      };
      expect(a.jar.names().filter((n) => n.startsWith('bff_txn.'))).toHaveLength(2);
      const res = await fail(b);
      expect(res.headers.get('location')).toMatch(/^\/\?login_error=/);
      const cleared = res.headers.getSetCookie().filter((c) => /^bff_txn\.[^=]+=;.*Max-Age=0/.test(c));
      expect(cleared).toHaveLength(1);
      expect(a.jar.names().filter((n) => n.startsWith('bff_txn.'))).toHaveLength(1);
      msw.resetHandlers();
      expect((await sendCallback(a.bff, a.jar, a.callback)).headers.get('location')).toBe('/');
      expect(a.jar.names().filter((n) => n.startsWith('bff_txn.'))).toEqual([]);
    },
  );

  it('refuses a callback in a browser that never started the login (login CSRF)', async () => {
    const s = await startLogin();
    const victim = new CookieJar();
    await expectLoginError(await sendCallback(s.bff, victim, s.callback), s.bff, victim, 'login_expired');
  });

  it('refuses a callback whose transaction no longer opens as expired, whatever state it names', async () => {
    const s = await startLogin();
    const [slot] = s.jar.names().filter((n) => n.startsWith('bff_txn.'));
    const value = s.jar.get(slot ?? '') ?? '';
    const flip = (v: string, i: number) => `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;
    const res = await s.bff.fetch(pathOf(callbackUrl(s)), {
      headers: { cookie: `${slot}=${flip(value, value.length - 30)}` },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/?login_error=login_expired');
    // Nothing tells which login a value that does not open was: the slot is left to the next one.
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('refuses a replayed callback', async () => {
    const s = await startLogin();
    expect((await sendCallback(s.bff, s.jar, s.callback)).headers.get('location')).toBe('/');
    const fresh = new CookieJar();
    await expectLoginError(await sendCallback(s.bff, fresh, s.callback), s.bff, fresh, 'login_expired');
  });

  it('maps error=access_denied without reflecting its description', async () => {
    const s = await startLogin();
    const url = new URL(callbackUrl(s).pathname, s.bff.origin);
    url.searchParams.set('state', callbackUrl(s).searchParams.get('state') ?? '');
    url.searchParams.set('iss', h.idp.issuer);
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_description', '<script>alert(1)</script>');
    const res = await s.bff.fetch(pathOf(url), { jar: s.jar });
    const body = await res.text();
    expect(body).not.toContain('<script>');
    expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
    await expectLoginError(res, s.bff, s.jar, 'access_denied');
  });

  it('refuses an iss parameter that is not the issuer (RFC 9207 mix-up defence)', async () => {
    const s = await startLogin();
    const url = callbackUrl(s);
    expect(url.searchParams.get('iss')).toBe(h.idp.issuer);
    url.searchParams.set('iss', 'https://evil.example');
    await expectLoginError(await s.bff.fetch(pathOf(url), { jar: s.jar }), s.bff, s.jar, 'idp_error');
  });

  it('refuses a form_post callback that is not a form', async () => {
    const bff = await h.startBff();
    const res = await bff.fetch('/authorization-code/callback', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.headers.get('location')).toBe('/?login_error=idp_error');
  });
});

describe('session cookies', () => {
  it('use __Host- and Secure when the public origin is https', async () => {
    const s = await startLogin({ REDIRECT_URL: `${HTTPS_ORIGIN}/authorization-code/callback` });
    const txn = s.jar.names().find((n) => n.startsWith('__Host-bff_txn.'));
    expect(txn).toBeDefined();
    const res = await sendCallback(s.bff, s.jar, s.callback);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('__Host-bff_session='));
    expect(session).toMatch(
      /^__Host-bff_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('treat tampered, truncated, garbage and foreign-key cookies as no session', async () => {
    const s = await startLogin();
    await sendCallback(s.bff, s.jar, s.callback);
    const good = s.jar.get('bff_session') ?? '';
    const userWith = (bff: Bff, value: string) =>
      bff.fetch('/auth/user', { headers: { cookie: `bff_session=${value}` } });
    // The same BFF, whose key opens the good cookie: only the damage can make it fail.
    expect((await userWith(s.bff, good)).status).toBe(200);
    const flip = (v: string, i: number) => `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;
    for (const value of [
      flip(good, good.length - 30),
      flip(good, 5),
      flip(good, Math.floor(good.length / 2)),
      good.slice(0, 200),
      `${good}x`,
      'garbage',
      '..',
      '%%%',
    ]) {
      const res = await userWith(s.bff, value);
      expect(res.status, value.slice(0, 40)).toBe(401);
      expect(res.headers.getSetCookie().some((c) => /^bff_session=;.*Max-Age=0/.test(c))).toBe(true);
      const api = await s.bff.fetch('/api/items', {
        headers: { cookie: `bff_session=${value}`, 'x-csrf': '1' },
      });
      expect(api.status).toBe(401);
    }
    // A BFF with another key refuses the good cookie too.
    const other = await h.startBff({ SESSION_SECRET: 'another-secret-another-secret-1234' });
    expect((await userWith(other, good)).status).toBe(401);
  });

  it('open under a rotated key list and are resealed with the new key', async () => {
    const oldSecret = 'old-secret-old-secret-old-secret-0';
    const newSecret = 'new-secret-new-secret-new-secret-0';
    const s = await startLogin({ SESSION_SECRET: oldSecret });
    await sendCallback(s.bff, s.jar, s.callback);
    const oldCookie = s.jar.get('bff_session') ?? '';
    const rotated = await h.startBff({ SESSION_SECRET: `${newSecret},${oldSecret}` });
    expect(
      (await rotated.fetch('/auth/user', { headers: { cookie: `bff_session=${oldCookie}` } })).status,
    ).toBe(200);
    const jar = new CookieJar();
    const login = await rotated.fetch('/auth/login', { jar });
    const cb = await driveIdpLogin({
      authorizeUrl: login.headers.get('location') ?? '',
      username: user.login,
      password: user.password,
    });
    await sendCallback(rotated, jar, cb);
    const newCookie = jar.get('bff_session') ?? '';
    const onlyNew = await h.startBff({ SESSION_SECRET: newSecret });
    expect(
      (await onlyNew.fetch('/auth/user', { headers: { cookie: `bff_session=${newCookie}` } })).status,
    ).toBe(200);
    expect(
      (await onlyNew.fetch('/auth/user', { headers: { cookie: `bff_session=${oldCookie}` } })).status,
    ).toBe(401);
  });
});
