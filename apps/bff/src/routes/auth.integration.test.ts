import { driveIdpLogin, driveIdpLogout } from '@okta-bff/dev-idp/testing';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCodecFor } from '../services.ts';
import {
  CookieJar,
  createHarness,
  DEV_USERS,
  type Harness,
  signIn,
  TEST_SESSION_SECRET,
} from '../testing/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Every string in a session that must never reach the browser or a log line. */
async function secretsOf(jar: CookieJar, cookieName = 'bff_session'): Promise<string[]> {
  const sealed = jar.get(cookieName);
  const session = sealed ? await sessionCodecFor([TEST_SESSION_SECRET]).unsealSession(sealed) : undefined;
  if (!session) throw new Error('no session in the jar');
  return [session.accessToken, session.refreshToken, session.idToken].filter((s): s is string => !!s);
}

describe('sign-in journey against the embedded IdP', () => {
  it('logs in, shows the claims, logs out and revokes the refresh token at the IdP', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const bodies: string[] = [];

    const { authorizeUrl, callback } = await signIn(bff, jar, { returnTo: '/items?tab=1', idpJar });
    // The authorization request: code flow, PKCE S256, fresh state and nonce, our scopes.
    const q = authorizeUrl.searchParams;
    expect(authorizeUrl.href.startsWith(`${h.idp.issuer}/v1/authorize?`)).toBe(true);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(q.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(q.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(q.get('scope')).toBe('openid profile email offline_access');
    expect(q.get('redirect_uri')).toBe(`${h.origin}/authorization-code/callback`);

    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/items?tab=1');
    expect(callback.headers.get('cache-control')).toBe('no-store');
    expect(callback.headers.get('referrer-policy')).toBe('no-referrer');
    const setCookies = callback.headers.getSetCookie();
    const sessionCookie = setCookies.find((c) => c.startsWith('bff_session='));
    expect(sessionCookie).toMatch(/^bff_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(setCookies.some((c) => c.startsWith('bff_txn.') && c.includes('Max-Age=0'))).toBe(true);
    expect(jar.names().filter((n) => n.startsWith('bff_txn.'))).toEqual([]);

    const user = await bff.fetch('/auth/user', { jar });
    const userText = await user.text();
    bodies.push(userText);
    expect(user.status).toBe(200);
    expect(user.headers.get('cache-control')).toBe('no-store');
    const body = JSON.parse(userText);
    expect(body).toMatchObject({
      authenticated: true,
      user: { sub: DEV_USERS[0]?.claims.sub, email: 'alice@example.com', name: expect.any(String) },
      session: { expiresAt: expect.any(Number) },
    });
    expect(body.user.nonce).toBeUndefined();

    const secrets = await secretsOf(jar);
    expect(secrets).toHaveLength(3);
    const idToken = secrets[2] as string;
    expect(decodeJwt(idToken).aud).toBe(bff.config.clientId);

    const noCsrf = await bff.fetch('/auth/logout', { jar, method: 'POST' });
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.json()).toMatchObject({ error: 'csrf_required' });
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);

    h.idp.events.clear();
    const logout = await bff.fetch('/auth/logout', { jar, method: 'POST', headers: { 'X-CSRF': '1' } });
    const logoutText = await logout.text();
    expect(logout.status).toBe(200);
    const logoutUrl = new URL(JSON.parse(logoutText).logoutUrl);
    // The one token the browser ever carries: Okta's end-session endpoint requires the ID token
    // as id_token_hint. Nothing else in the body may hold a token.
    const withoutHint = new URL(logoutUrl);
    withoutHint.searchParams.delete('id_token_hint');
    bodies.push(logoutText.replace(JSON.parse(logoutText).logoutUrl, withoutHint.href));
    expect(logoutUrl.href.startsWith(`${h.idp.issuer}/v1/logout?`)).toBe(true);
    expect(logoutUrl.searchParams.get('id_token_hint')).toBe(idToken);
    expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(`${h.origin}/`);
    expect(logoutUrl.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(h.idp.events.revokedRefreshTokenCount).toBe(1);
    expect(
      logout.headers.getSetCookie().some((c) => c.startsWith('bff_session=;') && c.includes('Max-Age=0')),
    ).toBe(true);
    expect(jar.get('bff_session')).toBeUndefined();

    const after = await bff.fetch('/auth/user', { jar });
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ authenticated: false });

    // The IdP session ends too: the next login shows the login form again.
    const back = await driveIdpLogout({ logoutUrl, jar: idpJar });
    expect(back.url.startsWith(`${h.origin}/?state=`)).toBe(true);
    const again = await bff.fetch('/auth/login', { jar });
    await expect(
      driveIdpLogin({
        authorizeUrl: again.headers.get('location') ?? '',
        username: 'x',
        password: 'wrong',
        jar: idpJar,
      }),
    ).rejects.toMatchObject({ name: 'IdpLoginError' });

    // Nothing the browser received, and nothing logged, carries a token or the client secret.
    const forbidden = [...secrets, bff.config.clientSecret];
    for (const text of [...bodies, ...bff.logs]) {
      for (const secret of forbidden) expect(text).not.toContain(secret);
    }
    expect(bff.logs.some((l) => l.includes('"event":"login_succeeded"'))).toBe(true);
  });

  it('completes logins started in two tabs, and mints a fresh session each time', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const first = await bff.fetch('/auth/login?returnTo=/one', { jar });
    const second = await bff.fetch('/auth/login?returnTo=/two', { jar });
    expect(jar.names().filter((n) => n.startsWith('bff_txn.'))).toHaveLength(2);
    const user = DEV_USERS[1]!;
    const cb2 = await driveIdpLogin({
      authorizeUrl: second.headers.get('location')!,
      username: user.login,
      password: user.password,
      jar: idpJar,
    });
    const cb1 = await driveIdpLogin({
      authorizeUrl: first.headers.get('location')!,
      username: user.login,
      password: user.password,
      jar: idpJar,
    });
    const r2 = await bff.fetch(new URL(cb2.url).pathname + new URL(cb2.url).search, { jar });
    expect(r2.headers.get('location')).toBe('/two');
    const session2 = jar.get('bff_session');
    const r1 = await bff.fetch(new URL(cb1.url).pathname + new URL(cb1.url).search, { jar });
    expect(r1.headers.get('location')).toBe('/one');
    expect(jar.get('bff_session')).not.toBe(session2);
    const codec = sessionCodecFor([TEST_SESSION_SECRET]);
    const s1 = await codec.unsealSession(jar.get('bff_session')!);
    const s2 = await codec.unsealSession(session2!);
    expect(s1?.sid).not.toBe(s2?.sid);
    expect(s1?.user.sub).toBe(user.claims.sub);
  });

  it('supports response_mode=form_post with a SameSite=None transaction cookie', async () => {
    const bff = await h.startBff({ OKTA_RESPONSE_MODE: 'form_post', OKTA_PROMPT: 'login' });
    const jar = new CookieJar();
    const login = await bff.fetch('/auth/login', { jar });
    const authorizeUrl = new URL(login.headers.get('location')!);
    expect(authorizeUrl.searchParams.get('response_mode')).toBe('form_post');
    expect(authorizeUrl.searchParams.get('prompt')).toBe('login');
    expect(login.headers.getSetCookie()[0]).toMatch(
      /; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=None$/,
    );
    const user = DEV_USERS[0]!;
    const cb = await driveIdpLogin({ authorizeUrl, username: user.login, password: user.password });
    expect(cb.method).toBe('POST');
    if (cb.method !== 'POST') return;
    const res = await bff.fetch(new URL(cb.url).pathname, {
      jar,
      method: 'POST',
      body: cb.body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.headers.get('location')).toBe('/');
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('ignores caller-supplied protocol parameters and sends unsafe returnTo values to /', async () => {
    const bff = await h.startBff();
    const res = await bff.fetch(
      '/auth/login?state=attacker&nonce=n&redirect_uri=https://evil.example/cb&scope=admin',
    );
    const q = new URL(res.headers.get('location')!).searchParams;
    expect(q.get('state')).not.toBe('attacker');
    expect(q.get('nonce')).not.toBe('n');
    expect(q.get('redirect_uri')).toBe(`${h.origin}/authorization-code/callback`);
    expect(q.get('scope')).toBe('openid profile email offline_access');
    for (const returnTo of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      'javascript:alert(1)',
    ]) {
      const jar = new CookieJar();
      const { callback } = await signIn(bff, jar, { returnTo });
      expect(callback.headers.get('location'), returnTo).toBe('/');
    }
    const jar = new CookieJar();
    const { callback } = await signIn(bff, jar, { returnTo: '/%2F%2Fevil.example' });
    const location = callback.headers.get('location')!;
    expect(new URL(location, bff.origin).origin).toBe(bff.origin);
  });
});

describe('health and readiness', () => {
  it('answers /healthz and /readyz once the IdP metadata is loaded', async () => {
    const bff = await h.startBff();
    expect((await bff.fetch('/healthz')).status).toBe(200);
    expect((await bff.fetch('/readyz')).status).toBe(200);
  });
});

describe('development diagnostics', () => {
  it('shows decoded claims and the raw access token in development only', async () => {
    const dev = await h.startBff({ NODE_ENV: 'development' });
    const jar = new CookieJar();
    await signIn(dev, jar);
    const res = await dev.fetch('/auth/diagnostics', { jar });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accessTokenClaims).toMatchObject({
      aud: 'api://default',
      scp: expect.arrayContaining(['openid']),
    });
    expect(body.idTokenClaims).toMatchObject({ aud: dev.config.clientId });
    expect(body.accessToken).toBe((await secretsOf(jar))[0]);
    const prod = await h.startBff();
    const prodJar = new CookieJar();
    await signIn(prod, prodJar);
    expect((await prod.fetch('/auth/diagnostics', { jar: prodJar })).status).toBe(404);
  });
});

describe('an IdP that is down at boot', () => {
  it('answers 503 on /readyz, and sends /auth/login back with login_error=idp_unavailable, until discovery succeeds', async () => {
    const bff = await h.startBff({ OKTA_ISSUER: 'http://127.0.0.1:9/oauth2/default' }, { waitForIdp: false });
    const ready = await bff.fetch('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: 'idp_unavailable' });
    // A navigation: the SPA explains the code on its page, rather than the browser showing JSON.
    const login = await bff.fetch('/auth/login');
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toBe('/?login_error=idp_unavailable');
    expect((await bff.fetch('/healthz')).status).toBe(200);
  });
});
