/**
 * The logout channels and the idle timeout with the default cookie store, over real HTTP against
 * the embedded IdP: a session ended by back- or front-channel logout is refused by the instance
 * that received it (a cookie cannot be revoked elsewhere; see the Redis store for that).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type Gateway, sessionCookiesSet, startGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, DEV_USERS, signIn } from '../testing/harness.ts';

let g: Gateway;
beforeAll(async () => {
  g = await startGateway();
});
afterAll(async () => {
  await g?.close();
});

const postLogoutToken = (bff: Bff, token: string) =>
  bff.fetch('/auth/backchannel-logout', {
    method: 'POST',
    body: new URLSearchParams({ logout_token: token }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

describe('back- and front-channel logout with the cookie store', () => {
  it('a logout token for the IdP session ends that session here, and leaves another alone', async () => {
    const { bff, jar } = await g.signedIn();
    const other = new CookieJar();
    await signIn(bff, other);
    const sid = (await g.sessionIn(jar)).idpSid;
    expect(sid).toBeTruthy();
    const res = await postLogoutToken(bff, await g.h.idp.signLogoutToken({ sid }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
    expect(errorOf(await g.raw('/api/things', { headers: g.apiHeaders(jar) }))).toEqual({
      status: 401,
      error: 'unauthenticated',
    });
    expect(g.rec.requests).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar: other })).status).toBe(200);
  });

  it('a logout token with only sub ends that user’s sessions begun before it; a new sign-in works', async () => {
    let offsetMs = 0;
    const bff = await g.h.startBff(
      { API_UPSTREAM_URL: g.rec.origin },
      { nowMs: () => Date.now() + offsetMs },
    );
    const jar = new CookieJar();
    await signIn(bff, jar);
    const bob = new CookieJar();
    await signIn(bff, bob, { user: DEV_USERS[1] });
    expect(
      (await postLogoutToken(bff, await g.h.idp.signLogoutToken({ sub: DEV_USERS[0]!.claims.sub }))).status,
    ).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
    expect((await bff.fetch('/auth/user', { jar: bob })).status).toBe(200);
    offsetMs += 1_000; // the next sign-in starts in a later second
    await signIn(bff, jar);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it.each([
    ['typ logout+jwt (explicit, §2.4)', {}],
    ['typ JWT (Keycloak, Glewlwyd)', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
  ])('accepts a logout token with %s', async (_, header) => {
    const { bff, jar } = await g.signedIn();
    const sid = (await g.sessionIn(jar)).idpSid;
    const res = await postLogoutToken(bff, await g.h.idp.signLogoutToken({ sid }, header));
    expect(res.status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  it('refuses a logout token of another type (an access token, a DPoP proof): 400, nothing ended', async () => {
    const { bff, jar } = await g.signedIn();
    const sid = (await g.sessionIn(jar)).idpSid;
    for (const typ of ['at+jwt', 'dpop+jwt', 'secevent+jwt']) {
      const res = await postLogoutToken(bff, await g.h.idp.signLogoutToken({ sid }, { typ }));
      expect(res.status, typ).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('bad_request');
    }
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('refuses an invalid or replayed logout token with 400 and ends nothing', async () => {
    const { bff, jar } = await g.signedIn();
    const sid = (await g.sessionIn(jar)).idpSid;
    for (const token of [
      await g.h.idp.signLogoutToken({ sid, aud: 'another-client' }),
      await g.h.idp.signLogoutToken({ sid, nonce: 'n' }),
      'not-a-jwt',
    ]) {
      const res = await postLogoutToken(bff, token);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('bad_request');
    }
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    const once = await g.h.idp.signLogoutToken({ sid: 'some-other-idp-session' });
    expect((await postLogoutToken(bff, once)).status).toBe(200);
    expect((await postLogoutToken(bff, once)).status).toBe(400);
  });

  it('front-channel: the issuer’s iss and the sid end the session; a foreign iss ends nothing', async () => {
    const { bff, jar } = await g.signedIn();
    const sid = (await g.sessionIn(jar)).idpSid ?? '';
    const foreign = await bff.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: 'https://evil.example', sid })}`,
    );
    expect(foreign.status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    const res = await bff.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: g.h.idp.issuer, sid })}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(
      `default-src 'none'; frame-ancestors ${new URL(g.h.idp.issuer).origin}`,
    );
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  it('front-channel: a sid over 255 characters is 400 bad_request and ends nothing; 255 is accepted', async () => {
    const { bff, jar } = await g.signedIn();
    const tooLong = await bff.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: g.h.idp.issuer, sid: 's'.repeat(256) })}`,
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers.get('cache-control')).toBe('no-store');
    expect(((await tooLong.json()) as { error: string }).error).toBe('bad_request');
    const longest = await bff.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: g.h.idp.issuer, sid: 's'.repeat(255) })}`,
    );
    expect(longest.status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });
});

describe('idle timeout with the cookie store', () => {
  it('activity renews the idle clock in the cookie; a session silent for the idle time ends', async () => {
    const { bff, jar } = await g.signedIn({ SESSION_IDLE_TIMEOUT_S: '600' });
    const now = Math.floor(Date.now() / 1000);
    const session = await g.sessionIn(jar);
    // Last seen 9 minutes ago (within 10): it works, and the answer renews the clock.
    await g.putSession(jar, { ...session, lastSeenAt: now - 540 });
    const active = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(active.status).toBe(200);
    expect(sessionCookiesSet(active).length).toBeGreaterThan(0);
    jar.store(
      g.h.origin,
      new Response(null, { headers: sessionCookiesSet(active).map((c) => ['set-cookie', c]) }),
    );
    expect((await g.sessionIn(jar)).lastSeenAt).toBeGreaterThanOrEqual(now);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    // Last seen 11 minutes ago: ended, for /api and /auth/user alike.
    await g.putSession(jar, { ...session, lastSeenAt: now - 660 });
    expect(errorOf(await g.raw('/api/things', { headers: g.apiHeaders(jar) }))).toEqual({
      status: 401,
      error: 'unauthenticated',
    });
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });
});
