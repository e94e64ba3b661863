import { DEV_IDP } from '@okta-bff/oidc';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGroupNames } from './group-names.ts';
import { type DevIdp, MANY_GROUPS_COUNT, MANY_GROUPS_USER, startDevIdp } from './index.ts';
import { renderLoginPage } from './pages.ts';
import { login, POST_LOGOUT_URI, tokenRequest } from './test-helpers.ts';
import { CookieJar, driveIdpLogout } from './testing/index.ts';
import { DEV_USERS } from './users.ts';

const SCOPE = 'openid profile email offline_access groups';
const carol = MANY_GROUPS_USER;

let idp: DevIdp;

beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});

describe('the many-groups user', () => {
  it('is a documented test user in 300 distinct, directory-like groups', () => {
    expect(DEV_USERS).toContain(carol);
    const { groups } = carol.claims;
    expect(groups).toHaveLength(MANY_GROUPS_COUNT);
    expect(MANY_GROUPS_COUNT).toBe(300);
    expect(new Set(groups).size).toBe(groups.length);
    expect(groups[0]).toBe('Everyone');
    for (const group of groups.slice(1)) {
      expect(group.length).toBeGreaterThanOrEqual(20);
      expect(group.length).toBeLessThanOrEqual(40);
    }
    // Several kinds of names, not one counter: a compressing store must not look better than it is.
    const kinds = new Set(groups.map((group) => /^[A-Za-z]+/.exec(group)?.[0]));
    expect(kinds.size).toBeGreaterThanOrEqual(5);
    expect(generateGroupNames(MANY_GROUPS_COUNT)).toEqual(groups);
  });

  it('carries all groups in the ID token, the JWT access token and userinfo', async () => {
    const { tokens } = await login(idp, { scope: SCOPE, user: carol });
    expect(tokens.scope).toBe(SCOPE);
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));

    const { payload: id } = await jwtVerify(String(tokens.id_token), jwks, {
      issuer: idp.issuer,
      audience: DEV_IDP.clientId,
    });
    expect(id.sub).toBe(carol.claims.sub);
    expect(id.groups).toEqual(carol.claims.groups);

    const { payload: at } = await jwtVerify(String(tokens.access_token), jwks, {
      issuer: idp.issuer,
      audience: 'api://default',
      typ: 'at+jwt',
    });
    expect(at).toMatchObject({ sub: carol.claims.sub, uid: carol.claims.sub, cid: DEV_IDP.clientId });
    expect(at.groups).toEqual(carol.claims.groups);

    const response = await fetch(`${idp.issuer}/v1/userinfo`, {
      headers: { authorization: `Bearer ${String(tokens.access_token)}` },
    });
    expect(response.status).toBe(200);
    const userinfo = (await response.json()) as Record<string, unknown>;
    expect(userinfo).toMatchObject({ sub: carol.claims.sub, email: carol.claims.email });
    expect(userinfo.groups).toEqual(carol.claims.groups);

    // Large by construction: the point of this user is tokens far beyond the usual ~1 KB.
    expect(String(tokens.id_token).length).toBeGreaterThan(10_000);
    expect(String(tokens.access_token).length).toBeGreaterThan(10_000);
  });

  it('keeps the groups in refreshed tokens', async () => {
    const { tokens } = await login(idp, { scope: SCOPE, user: carol });
    const refreshed = await tokenRequest(idp, {
      grant_type: 'refresh_token',
      refresh_token: String(tokens.refresh_token),
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(String(refreshed.body.id_token)).groups).toHaveLength(MANY_GROUPS_COUNT);
    expect(decodeJwt(String(refreshed.body.access_token)).groups).toHaveLength(MANY_GROUPS_COUNT);
  });

  it('carries no groups anywhere without the groups scope', async () => {
    const { tokens } = await login(idp, { scope: 'openid profile email', user: carol });
    expect(decodeJwt(String(tokens.id_token)).groups).toBeUndefined();
    expect(decodeJwt(String(tokens.access_token)).groups).toBeUndefined();
    const response = await fetch(`${idp.issuer}/v1/userinfo`, {
      headers: { authorization: `Bearer ${String(tokens.access_token)}` },
    });
    expect(((await response.json()) as Record<string, unknown>).groups).toBeUndefined();
  });

  it('ends her session from a logout URL that carries her whole ID token as id_token_hint', async () => {
    const jar = new CookieJar();
    const { tokens } = await login(idp, { scope: SCOPE, user: carol, jar });
    const logoutUrl = new URL(`${idp.issuer}/v1/logout`);
    logoutUrl.search = new URLSearchParams({
      id_token_hint: String(tokens.id_token),
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state: 'bye',
    }).toString();
    const back = await driveIdpLogout({ logoutUrl, jar });
    expect(back.url).toBe(`${POST_LOGOUT_URI}?state=bye`);
  });

  it('accepts request heads beyond Node’s default 16 KiB, for still larger tokens', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration?pad=${'x'.repeat(20_000)}`);
    expect(response.status).toBe(200);
  });

  it('is listed on the login page with a count instead of 300 group names', () => {
    const html = renderLoginPage({ action: '/login', users: DEV_USERS });
    expect(html).toContain('carol@example.com');
    expect(html).toContain(`and ${MANY_GROUPS_COUNT - 3} more`);
    expect(html).toContain('Everyone, Admins');
    expect(html.length).toBeLessThan(10_000);
  });
});
