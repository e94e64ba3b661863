import { DEV_IDP } from '@okta-bff/oidc';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDevClient, type DevIdp, startDevIdp } from './index.ts';
import { alice, authorizeRequest, bob, login, POST_LOGOUT_URI, tokenRequest } from './test-helpers.ts';
import { CookieJar, driveIdpLogin, driveIdpLogout } from './testing/index.ts';

const OFFLINE = 'openid profile email offline_access';

let idp: DevIdp;

beforeAll(async () => {
  // No logout channels: nothing is sent to whatever listens on the default client's port 8000,
  // and the plain redirect of a client without them stays covered.
  idp = await startDevIdp({
    port: 0,
    clients: [createDevClient({ backchannelLogoutUri: null, frontchannelLogoutUri: null })],
  });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  idp.events.clear();
});

async function userinfo(authorization?: string) {
  const response = await fetch(`${idp.issuer}/v1/userinfo`, {
    headers: authorization ? { authorization } : {},
  });
  const text = await response.text();
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

async function revoke(token: string, hint: string) {
  const basic = Buffer.from(`${DEV_IDP.clientId}:${DEV_IDP.clientSecret}`).toString('base64');
  const response = await fetch(`${idp.issuer}/v1/revoke`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: hint }),
  });
  return response.status;
}

describe('refresh tokens', () => {
  it('rotates on every use and refuses the old one (reuse revokes the whole grant)', async () => {
    const { tokens } = await login(idp, { scope: OFFLINE });
    const first = String(tokens.refresh_token);

    const refreshed = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: first });
    expect(refreshed.status).toBe(200);
    const second = String(refreshed.body.refresh_token);
    expect(second).not.toBe(first);
    expect(refreshed.body.scope).toBe(OFFLINE);
    // Like Okta, a refresh with `openid` granted returns a new ID token.
    expect(decodeJwt(String(refreshed.body.id_token)).sub).toBe(alice.claims.sub);
    expect(decodeJwt(String(refreshed.body.access_token)).scp).toEqual(OFFLINE.split(' '));

    const reused = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: first });
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // oidc-provider treats reuse as theft: the rotated-to token dies with the grant.
    const afterReuse = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: second });
    expect(afterReuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    expect(idp.events.grantCount('refresh_token')).toBe(1);
    expect(idp.events.tokenErrors.map((error) => error.error)).toEqual(['invalid_grant', 'invalid_grant']);
  });

  it('fails with invalid_grant after /v1/revoke, and records the revocation', async () => {
    const { tokens } = await login(idp, { scope: OFFLINE, user: bob });
    const refreshToken = String(tokens.refresh_token);
    expect(await revoke(refreshToken, 'refresh_token')).toBe(200);

    const refreshed = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refreshed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(idp.events.revokedRefreshTokenCount).toBe(1);
    expect(idp.events.tokenGrants[0]?.grantId).toEqual(expect.any(String));
    expect(idp.events.revocations[0]).toMatchObject({
      tokenType: 'refresh_token',
      clientId: DEV_IDP.clientId,
      grantId: idp.events.tokenGrants[0]?.grantId,
    });

    // Revoking an unknown token is a 200 too (RFC 7009) but nothing was revoked.
    expect(await revoke('not-a-token', 'refresh_token')).toBe(200);
    expect(idp.events.revokedRefreshTokenCount).toBe(1);
  });
});

describe('/v1/userinfo', () => {
  it('accepts the api://default access token and returns the ID token sub and scoped claims', async () => {
    const { tokens } = await login(idp, { scope: 'openid email' });
    const answer = await userinfo(`Bearer ${String(tokens.access_token)}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      sub: decodeJwt(String(tokens.id_token)).sub,
      email: alice.login,
      email_verified: true,
    });
  });

  it('refuses missing and tampered tokens with WWW-Authenticate', async () => {
    const { tokens } = await login(idp);
    const token = String(tokens.access_token);
    const missing = await userinfo();
    expect(missing).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_request"' });
    const tampered = await userinfo(`Bearer ${token.slice(0, -4)}AAAA`);
    expect(tampered).toMatchObject({
      status: 401,
      wwwAuthenticate: 'Bearer error="invalid_token"',
      body: undefined,
    });
  });
});

describe('sessions', () => {
  it('reuses the IdP session for a second login, and shows the form again after logout', async () => {
    const jar = new CookieJar();
    const { tokens } = await login(idp, { jar });

    // Second login with the same jar: no form; a wrong password would throw if one were shown.
    const again = await driveIdpLogin({
      authorizeUrl: authorizeRequest(idp).url,
      username: 'x',
      password: 'x',
      jar,
    });
    expect(new URL(again.url).searchParams.get('code')).toMatch(/.+/);

    const logoutUrl = new URL(`${idp.issuer}/v1/logout`);
    logoutUrl.search = new URLSearchParams({
      id_token_hint: String(tokens.id_token),
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state: 'after-logout',
    }).toString();
    const back = await driveIdpLogout({ logoutUrl, jar });
    expect(back).toEqual({ url: `${POST_LOGOUT_URI}?state=after-logout`, frontchannelLogoutUrls: [] });
    expect(idp.events.endSessions).toMatchObject([{ clientId: DEV_IDP.clientId, hadSession: true }]);
    // A client without logout channels gets no notifications, and no `sid` in its ID tokens.
    expect(idp.events.backchannelLogouts).toEqual([]);
    expect(idp.events.frontchannelLogouts).toEqual([]);
    expect(decodeJwt(String(tokens.id_token)).sid).toBeUndefined();

    await expect(
      driveIdpLogin({ authorizeUrl: authorizeRequest(idp).url, username: 'x', password: 'x', jar }),
    ).rejects.toMatchObject({ code: 'login_rejected' });
  });

  it('redirects a logout without an IdP session straight back', async () => {
    const { tokens } = await login(idp);
    const logoutUrl = new URL(`${idp.issuer}/v1/logout`);
    logoutUrl.search = new URLSearchParams({
      id_token_hint: String(tokens.id_token),
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state: 's1',
    }).toString();
    const response = await fetch(logoutUrl, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT_URI}?state=s1`);
    expect(idp.events.endSessions).toMatchObject([{ hadSession: false }]);
  });

  it('refuses an unregistered post_logout_redirect_uri with a plain page', async () => {
    const { tokens } = await login(idp);
    const logoutUrl = new URL(`${idp.issuer}/v1/logout`);
    logoutUrl.search = new URLSearchParams({
      id_token_hint: String(tokens.id_token),
      post_logout_redirect_uri: 'http://evil.example/',
    }).toString();
    const response = await fetch(logoutUrl, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('post_logout_redirect_uri not registered');
    expect(idp.events.endSessions).toEqual([]);
  });
});
