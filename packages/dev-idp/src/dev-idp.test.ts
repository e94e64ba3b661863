import { DEV_IDP } from '@okta-bff/oidc';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DevIdp, startDevIdp } from './index.ts';
import { alice, authorizeRequest, bob, login, REDIRECT_URI } from './test-helpers.ts';
import { driveIdpLogin, IdpLoginError } from './testing/index.ts';

let idp: DevIdp;

beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  idp.events.clear();
});

describe('discovery', () => {
  it('advertises Okta paths, RFC 9207 iss and S256 PKCE', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${idp.issuer}/v1/authorize`,
      token_endpoint: `${idp.issuer}/v1/token`,
      userinfo_endpoint: `${idp.issuer}/v1/userinfo`,
      jwks_uri: `${idp.issuer}/v1/keys`,
      end_session_endpoint: `${idp.issuer}/v1/logout`,
      revocation_endpoint: `${idp.issuer}/v1/revoke`,
      introspection_endpoint: `${idp.issuer}/v1/introspect`,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
    });
    expect(doc.response_modes_supported).toEqual(expect.arrayContaining(['query', 'form_post']));
    expect(doc.scopes_supported).toEqual(['openid', 'profile', 'email', 'offline_access', 'groups']);
  });
});

describe('authorization code flow', () => {
  it('issues an Okta-like JWT access token, an ID token with profile claims and a refresh token', async () => {
    const { tokens } = await login(idp, { scope: 'openid profile email groups offline_access' });
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(tokens.scope).toBe('openid profile email groups offline_access');
    expect(typeof tokens.refresh_token).toBe('string');

    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));
    const { payload: at } = await jwtVerify(String(tokens.access_token), jwks, {
      issuer: idp.issuer,
      audience: 'api://default',
      algorithms: ['RS256'],
    });
    expect(at).toMatchObject({ sub: alice.claims.sub, cid: DEV_IDP.clientId, uid: alice.claims.sub, ver: 1 });
    expect(at.scp).toEqual(['openid', 'profile', 'email', 'groups', 'offline_access']);
    // Okta admins add the groups claim to access tokens too, for the API's authorization.
    expect(at.groups).toEqual(['Everyone', 'Admins']);

    const { payload: id } = await jwtVerify(String(tokens.id_token), jwks, {
      issuer: idp.issuer,
      audience: DEV_IDP.clientId,
    });
    expect(id).toMatchObject({
      sub: alice.claims.sub,
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      preferred_username: 'alice@example.com',
      email: 'alice@example.com',
      email_verified: true,
      groups: ['Everyone', 'Admins'],
    });

    expect(idp.events.grantCount('authorization_code')).toBe(1);
    expect(idp.events.tokenGrants[0]).toMatchObject({
      accountId: alice.claims.sub,
      refreshTokenIssued: true,
    });
  });

  it('issues no refresh token and no groups claim when not asked for', async () => {
    const { tokens } = await login(idp, { scope: 'openid profile' });
    expect(tokens.refresh_token).toBeUndefined();
    expect(decodeJwt(String(tokens.id_token)).groups).toBeUndefined();
    expect(decodeJwt(String(tokens.access_token)).groups).toBeUndefined();
    expect(decodeJwt(String(tokens.id_token)).email).toBeUndefined();
  });

  it('returns a POST callback request for response_mode=form_post', async () => {
    const request = authorizeRequest(idp, { responseMode: 'form_post' });
    const callback = await driveIdpLogin({
      authorizeUrl: request.url,
      username: bob.login,
      password: bob.password,
    });
    expect(callback.method).toBe('POST');
    expect(callback.url).toBe(REDIRECT_URI);
    if (callback.method !== 'POST') return;
    expect(callback.body.get('state')).toBe(request.state);
    expect(callback.body.get('iss')).toBe(idp.issuer);
    expect(callback.body.get('code')).toMatch(/.+/);
  });

  it('refuses an authorization request without PKCE', async () => {
    const request = authorizeRequest(idp, { pkce: false });
    const callback = await driveIdpLogin({
      authorizeUrl: request.url,
      username: alice.login,
      password: alice.password,
    });
    const params = new URL(callback.url).searchParams;
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);
    expect(params.get('code')).toBeNull();
  });

  it('renders a plain error page for an unregistered redirect_uri', async () => {
    const request = authorizeRequest(idp, { redirectUri: 'http://evil.example/callback' });
    const response = await fetch(request.url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri');
  });

  it('shows the login form again with an error for a wrong password', async () => {
    const request = authorizeRequest(idp);
    await expect(
      driveIdpLogin({ authorizeUrl: request.url, username: alice.login, password: 'wrong' }),
    ).rejects.toMatchObject({ code: 'login_rejected', message: expect.stringContaining('wrong password') });
    await expect(
      driveIdpLogin({ authorizeUrl: request.url, username: alice.login, password: 'wrong' }),
    ).rejects.toBeInstanceOf(IdpLoginError);
    expect(idp.events.tokenGrants).toEqual([]);
  });
});
