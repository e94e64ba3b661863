import { DEV_IDP } from '@okta-bff/oidc';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLIENT_ASSERTION_AUDIENCE_ERROR,
  createDevClient,
  createSecureDevClient,
  createSecureDevClientFor,
  DEV_SECURE_CLIENT_ID,
  type DevIdp,
  startDevIdp,
} from './index.ts';
import {
  alice,
  generateSecureClientKeys,
  login,
  REDIRECT_URI,
  type SecureClientKeys,
  secureAuthorizationParams,
  securePost,
  signClientAssertion,
  signDpopProof,
} from './test-helpers.ts';
import { driveIdpLogin } from './testing/index.ts';

const OFFLINE_GROUPS = 'openid profile email offline_access groups';
const NO_CHANNELS = { backchannelLogoutUri: null, frontchannelLogoutUri: null } as const;

let keys: SecureClientKeys;
let idp: DevIdp;
let endpoints: { par: string; token: string; revocation: string; introspection: string; userinfo: string };

beforeAll(async () => {
  keys = await generateSecureClientKeys('ES256');
  idp = await startDevIdp({
    port: 0,
    clients: [createDevClient(NO_CHANNELS), createSecureDevClient({ jwks: keys.jwks, ...NO_CHANNELS })],
  });
  endpoints = {
    par: `${idp.issuer}/v1/par`,
    token: `${idp.issuer}/v1/token`,
    revocation: `${idp.issuer}/v1/revoke`,
    introspection: `${idp.issuer}/v1/introspect`,
    userinfo: `${idp.issuer}/v1/userinfo`,
  };
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  idp.events.clear();
});

/** Pushes an authorization request and returns its `request_uri` with the PKCE verifier. */
async function pushAuthorizationRequest(target: DevIdp, scope = OFFLINE_GROUPS) {
  const request = secureAuthorizationParams(scope);
  const pushed = await securePost(keys, `${target.issuer}/v1/par`, request.params);
  expect(pushed.status).toBe(201);
  expect(pushed.body.expires_in).toBeGreaterThan(0);
  return { ...request, requestUri: String(pushed.body.request_uri) };
}

/** The URL the browser gets: only `client_id` and `request_uri` (RFC 9126 §4). */
function authorizeUrlFor(target: DevIdp, requestUri: string): string {
  const url = new URL(`${target.issuer}/v1/authorize`);
  url.search = new URLSearchParams({ client_id: DEV_SECURE_CLIENT_ID, request_uri: requestUri }).toString();
  return url.href;
}

/** Signs alice in through `request_uri` and returns the code from the callback. */
async function codeFor(target: DevIdp, requestUri: string, state: string): Promise<string> {
  const callback = await driveIdpLogin({
    authorizeUrl: authorizeUrlFor(target, requestUri),
    username: alice.login,
    password: alice.password,
  });
  expect(callback.method).toBe('GET');
  const params = new URL(callback.url).searchParams;
  expect(`${callback.url.split('?')[0]}`).toBe(REDIRECT_URI);
  expect(params.get('state')).toBe(state);
  return String(params.get('code'));
}

async function userinfo(headers: Record<string, string>) {
  const response = await fetch(endpoints.userinfo, { headers });
  const text = await response.text();
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

describe('discovery', () => {
  it('advertises /v1/par, private_key_jwt with RS256 and ES256, and DPoP', async () => {
    const doc = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc.pushed_authorization_request_endpoint).toBe(endpoints.par);
    expect(doc.require_pushed_authorization_requests).toBeUndefined();
    expect(doc.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'private_key_jwt']),
    );
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['RS256', 'ES256']),
    );
    expect(doc.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));
  });
});

describe('PAR + private_key_jwt + DPoP, end to end', () => {
  it('pushes, signs in with only client_id and request_uri, and issues DPoP-bound Okta-like tokens', async () => {
    const { requestUri, verifier, state } = await pushAuthorizationRequest(idp);
    expect(requestUri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const code = await codeFor(idp, requestUri, state);

    const exchanged = await securePost(
      keys,
      endpoints.token,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      { dpop: true },
    );
    expect(exchanged.status).toBe(200);
    expect(exchanged.body).toMatchObject({ token_type: 'DPoP', scope: OFFLINE_GROUPS });
    expect(typeof exchanged.body.refresh_token).toBe('string');

    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));
    const { payload: at } = await jwtVerify(String(exchanged.body.access_token), jwks, {
      issuer: idp.issuer,
      audience: DEV_IDP.audience,
      algorithms: ['RS256'],
    });
    expect(at).toMatchObject({
      cnf: { jkt: keys.dpopJkt },
      cid: DEV_SECURE_CLIENT_ID,
      uid: alice.claims.sub,
      sub: alice.claims.sub,
      groups: ['Everyone', 'Admins'],
    });
    expect(at.scp).toEqual(OFFLINE_GROUPS.split(' '));
    expect(decodeJwt(String(exchanged.body.id_token)).aud).toBe(DEV_SECURE_CLIENT_ID);

    // What the IdP saw: one push, two assertions each addressed to its endpoint, a DPoP proof, no secret.
    const { events } = idp;
    expect(events.pushedAuthorizationRequests).toMatchObject([{ clientId: DEV_SECURE_CLIENT_ID }]);
    expect(events.clientAssertions).toMatchObject([
      { endpoint: 'par', aud: endpoints.par, endpointUrl: endpoints.par, error: undefined },
      { endpoint: 'token', aud: endpoints.token, endpointUrl: endpoints.token, error: undefined },
    ]);
    for (const assertion of events.clientAssertions) {
      expect(assertion).toMatchObject({
        iss: DEV_SECURE_CLIENT_ID,
        sub: DEV_SECURE_CLIENT_ID,
        alg: 'ES256',
        kid: keys.kid,
      });
    }
    const jtis = events.clientAssertions.map((assertion) => assertion.jti);
    expect(new Set(jtis).size).toBe(2);
    expect(events.clientSecretsPresented(DEV_SECURE_CLIENT_ID)).toBe(0);
    expect(events.clientAuthentications.map((record) => record.method)).toEqual([
      'private_key_jwt',
      'private_key_jwt',
    ]);
    expect(events.dpopProofs).toMatchObject([
      {
        endpoint: 'token',
        jkt: keys.dpopJkt,
        htm: 'POST',
        htu: endpoints.token,
        hadNonce: false,
        error: undefined,
      },
    ]);
    expect(events.tokenGrants).toMatchObject([
      {
        grantType: 'authorization_code',
        clientId: DEV_SECURE_CLIENT_ID,
        tokenType: 'DPoP',
        refreshTokenIssued: true,
      },
    ]);
  });

  it('refreshes with a DPoP proof, revokes with an assertion for /v1/revoke, and answers userinfo to DPoP only', async () => {
    const { requestUri, verifier, state } = await pushAuthorizationRequest(idp);
    const code = await codeFor(idp, requestUri, state);
    const tokens = await securePost(
      keys,
      endpoints.token,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      { dpop: true },
    );
    const accessToken = String(tokens.body.access_token);

    // Userinfo (Okta's is a DPoP resource too): the DPoP scheme and a proof with `ath`.
    const proof = await signDpopProof(keys, 'GET', endpoints.userinfo, { accessToken });
    const ok = await userinfo({ authorization: `DPoP ${accessToken}`, dpop: proof });
    expect(ok.status).toBe(200);
    expect(ok.body?.sub).toBe(alice.claims.sub);
    const replayed = await userinfo({ authorization: `DPoP ${accessToken}`, dpop: proof });
    expect(replayed).toMatchObject({
      status: 401,
      wwwAuthenticate: expect.stringContaining('invalid_dpop_proof'),
    });
    const asBearer = await userinfo({ authorization: `Bearer ${accessToken}` });
    expect(asBearer).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
    const otherKey = await generateSecureClientKeys();
    const wrongKey = await userinfo({
      authorization: `DPoP ${accessToken}`,
      dpop: await signDpopProof(otherKey, 'GET', endpoints.userinfo, { accessToken }),
    });
    expect(wrongKey).toMatchObject({
      status: 401,
      wwwAuthenticate: expect.stringContaining('invalid_token'),
    });
    const noProof = await userinfo({ authorization: `DPoP ${accessToken}` });
    expect(noProof).toMatchObject({
      status: 401,
      wwwAuthenticate: expect.stringContaining('invalid_dpop_proof'),
    });
    expect(idp.events.dpopProofs.filter((record) => record.endpoint === 'userinfo')).toMatchObject([
      { jkt: keys.dpopJkt, htm: 'GET', hadAth: true, error: undefined },
      { jkt: keys.dpopJkt, error: 'invalid_dpop_proof' },
      { jkt: otherKey.dpopJkt, error: 'invalid_token' },
    ]);

    // A dpop_bound_access_tokens client must prove the key at refresh too.
    const refreshToken = String(tokens.body.refresh_token);
    const withoutProof = await securePost(keys, endpoints.token, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    expect(withoutProof).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const refreshed = await securePost(
      keys,
      endpoints.token,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      { dpop: true },
    );
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(refreshed.body.access_token)).cnf).toEqual({ jkt: keys.dpopJkt });
    const rotated = String(refreshed.body.refresh_token);
    expect(rotated).not.toBe(refreshToken);

    const revoked = await securePost(keys, endpoints.revocation, {
      token: rotated,
      token_type_hint: 'refresh_token',
    });
    expect(revoked.status).toBe(200);
    expect(idp.events.revokedRefreshTokenCount).toBe(1);
    expect(idp.events.clientAssertions.at(-1)).toMatchObject({
      endpoint: 'revocation',
      aud: endpoints.revocation,
      error: undefined,
    });
    expect(idp.events.clientSecretsPresented()).toBe(0);
  });

  it('refuses a pushed request body larger than the IdP accepts', async () => {
    const response = await fetch(endpoints.par, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `scope=${'a'.repeat(70 * 1024)}`,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('binds the code to the DPoP key used at /v1/par', async () => {
    const request = secureAuthorizationParams('openid');
    const pushed = await securePost(keys, endpoints.par, request.params, { dpop: true });
    expect(pushed.status).toBe(201);
    expect(idp.events.pushedAuthorizationRequests).toMatchObject([{ dpopJkt: keys.dpopJkt }]);
    const code = await codeFor(idp, String(pushed.body.request_uri), request.state);

    const otherKey = {
      ...(await generateSecureClientKeys()),
      clientKey: keys.clientKey,
      kid: keys.kid,
      jwks: keys.jwks,
    };
    const exchanged = await securePost(
      otherKey,
      endpoints.token,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: request.verifier },
      { dpop: true },
    );
    expect(exchanged).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('private_key_jwt is as strict as Okta', () => {
  const tokenParams = { grant_type: 'refresh_token', refresh_token: 'unknown' };

  it.each([
    ['the issuer', () => idp.issuer],
    ['the token endpoint, at /v1/par', () => endpoints.token],
    ['an array holding the endpoint', () => [endpoints.par]],
  ])('refuses an assertion whose aud is %s with invalid_client', async (_name, aud) => {
    const response = await securePost(keys, endpoints.par, secureAuthorizationParams().params, {
      aud: aud(),
    });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: 'invalid_client',
      error_description: CLIENT_ASSERTION_AUDIENCE_ERROR,
    });
    expect(idp.events.pushedAuthorizationRequests).toEqual([]);
    expect(idp.events.clientAssertions).toMatchObject([{ endpoint: 'par', error: 'invalid_client' }]);
  });

  it('accepts RS256 assertions as well as ES256', async () => {
    const rsaKeys = await generateSecureClientKeys('RS256');
    const rsaIdp = await startDevIdp({
      port: 0,
      clients: [createSecureDevClient({ jwks: rsaKeys.jwks, ...NO_CHANNELS })],
    });
    try {
      const pushed = await securePost(rsaKeys, `${rsaIdp.issuer}/v1/par`, secureAuthorizationParams().params);
      expect(pushed.status).toBe(201);
      expect(rsaIdp.events.clientAssertions).toMatchObject([
        { alg: 'RS256', kid: rsaKeys.kid, error: undefined },
      ]);
    } finally {
      await rsaIdp.close();
    }
  });

  it('refuses aud = issuer at the token and revocation endpoints too', async () => {
    const token = await securePost(keys, endpoints.token, tokenParams, { aud: idp.issuer, dpop: true });
    expect(token).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const revocation = await securePost(keys, endpoints.revocation, { token: 'x' }, { aud: idp.issuer });
    expect(revocation).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(idp.events.clientAssertions).toMatchObject([
      { endpoint: 'token', aud: idp.issuer, endpointUrl: endpoints.token, error: 'invalid_client' },
      { endpoint: 'revocation', aud: idp.issuer, endpointUrl: endpoints.revocation, error: 'invalid_client' },
    ]);
    expect(idp.events.tokenGrants).toEqual([]);
  });

  it('refuses a replayed assertion, one signed by another key, and a secret', async () => {
    const assertion = await signClientAssertion(keys, endpoints.introspection);
    const first = await securePost(keys, endpoints.introspection, { token: 'x' }, { assertion });
    expect(first.status).toBe(200);
    const again = await securePost(keys, endpoints.introspection, { token: 'x' }, { assertion });
    expect(again).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    const stranger = await generateSecureClientKeys();
    const forged = await securePost(
      keys,
      endpoints.introspection,
      { token: 'x' },
      {
        assertion: await signClientAssertion(
          { ...stranger, jwks: keys.jwks, kid: keys.kid },
          endpoints.introspection,
        ),
      },
    );
    expect(forged).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    const basic = Buffer.from(`${DEV_SECURE_CLIENT_ID}:guess`).toString('base64');
    const withSecret = await fetch(endpoints.token, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(tokenParams),
    });
    expect(withSecret.status).toBe(401);
    expect(idp.events.clientSecretsPresented(DEV_SECURE_CLIENT_ID)).toBe(1);
  });
});

describe('request_uri', () => {
  /**
   * The client has one redirect URI, so oidc-provider can send the error back to it (RFC 6749
   * §4.1.2.1) although the request could not be loaded: no code, no state.
   */
  function expectRefusedCallback(url: string): void {
    expect(url.split('?')[0]).toBe(REDIRECT_URI);
    const params = new URL(url).searchParams;
    expect(params.get('error')).toBe('invalid_request_uri');
    expect(params.get('code')).toBeNull();
    expect(params.get('state')).toBeNull();
  }

  it('fails cleanly when replayed after a completed sign-in', async () => {
    const { requestUri, state } = await pushAuthorizationRequest(idp);
    await codeFor(idp, requestUri, state);
    const replay = await driveIdpLogin({
      authorizeUrl: authorizeUrlFor(idp, requestUri),
      username: alice.login,
      password: alice.password,
    });
    expectRefusedCallback(replay.url);
  });

  it('fails cleanly when tampered with', async () => {
    const { requestUri } = await pushAuthorizationRequest(idp);
    const flipped = `${requestUri.slice(0, -1)}${requestUri.endsWith('A') ? 'B' : 'A'}`;
    for (const tampered of [flipped, `${requestUri}x`, 'urn:ietf:params:oauth:request_uri:']) {
      const response = await fetch(authorizeUrlFor(idp, tampered), { redirect: 'manual' });
      expect(response.status).toBe(303);
      expectRefusedCallback(String(response.headers.get('location')));
    }
    expect(idp.events.tokenGrants).toEqual([]);
  });

  it('renders an error page when the client has several redirect URIs', async () => {
    const several = await startDevIdp({
      port: 0,
      clients: [
        createSecureDevClient({
          jwks: keys.jwks,
          redirectUris: [REDIRECT_URI, 'https://bff.example/authorization-code/callback'],
          ...NO_CHANNELS,
        }),
      ],
    });
    try {
      const response = await fetch(authorizeUrlFor(several, 'urn:ietf:params:oauth:request_uri:nope'), {
        redirect: 'manual',
        headers: { accept: 'text/html' },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('invalid_request_uri');
    } finally {
      await several.close();
    }
  });
});

describe('the default client is unchanged', () => {
  it('still uses client_secret_basic and gets Bearer tokens without cnf', async () => {
    const { tokens } = await login(idp, { scope: 'openid offline_access' });
    expect(tokens.token_type).toBe('Bearer');
    expect(decodeJwt(String(tokens.access_token)).cnf).toBeUndefined();
    expect(idp.events.clientAuthentications).toMatchObject([
      { endpoint: 'token', clientId: DEV_IDP.clientId, method: 'client_secret_basic', error: undefined },
    ]);
    expect(idp.events.clientSecretsPresented(DEV_IDP.clientId)).toBe(1);
    expect(idp.events.tokenGrants).toMatchObject([{ tokenType: 'Bearer' }]);
    expect(idp.events.dpopProofs).toEqual([]);
  });
});

describe('with dpopNonce and a PAR-only client', () => {
  let strict: DevIdp;

  beforeAll(async () => {
    strict = await startDevIdp({
      port: 0,
      dpopNonce: true,
      clients: [
        createSecureDevClient({ jwks: keys.jwks, requirePushedAuthorizationRequests: true, ...NO_CHANNELS }),
      ],
    });
  });
  afterAll(async () => {
    await strict.close();
  });

  it('refuses an authorization request that was not pushed', async () => {
    const { params } = secureAuthorizationParams();
    const url = new URL(`${strict.issuer}/v1/authorize`);
    url.search = new URLSearchParams({ ...params, client_id: DEV_SECURE_CLIENT_ID }).toString();
    const callback = await driveIdpLogin({
      authorizeUrl: url,
      username: alice.login,
      password: alice.password,
    });
    const error = new URL(callback.url).searchParams;
    expect(error.get('error')).toBe('invalid_request');
    expect(error.get('code')).toBeNull();
  });

  it('challenges the first token request with use_dpop_nonce once; the retry with the nonce succeeds', async () => {
    const { requestUri, verifier, state } = await pushAuthorizationRequest(strict, 'openid offline_access');
    const code = await codeFor(strict, requestUri, state);
    const token = `${strict.issuer}/v1/token`;
    const params = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };

    const challenged = await securePost(keys, token, params, { dpop: true });
    expect(challenged).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
    const nonce = challenged.dpopNonce;
    expect(nonce).toEqual(expect.any(String));

    // A fresh assertion (its jti was used) and a fresh proof carrying the nonce.
    const answered = await securePost(keys, token, params, { dpop: String(nonce) });
    expect(answered.status).toBe(200);
    expect(answered.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(answered.body.access_token)).cnf).toEqual({ jkt: keys.dpopJkt });

    expect(strict.events.dpopProofs).toMatchObject([
      { endpoint: 'token', hadNonce: false, error: 'use_dpop_nonce' },
      { endpoint: 'token', hadNonce: true, error: undefined },
    ]);
    expect(strict.events.tokenErrors).toMatchObject([
      { grantType: 'authorization_code', error: 'use_dpop_nonce' },
    ]);
    expect(strict.events.grantCount('authorization_code')).toBe(1);

    // The nonce keeps working for the refresh, with no second challenge.
    const refreshed = await securePost(
      keys,
      token,
      { grant_type: 'refresh_token', refresh_token: String(answered.body.refresh_token) },
      { dpop: answered.dpopNonce ?? String(nonce) },
    );
    expect(refreshed.status).toBe(200);
  });
});

describe('createSecureDevClientFor', () => {
  it('registers the default client URIs for the origins, private_key_jwt, DPoP and no secret', () => {
    const client = createSecureDevClientFor(keys.jwks, 'http://localhost:1234');
    expect(client).toMatchObject({
      client_id: DEV_SECURE_CLIENT_ID,
      token_endpoint_auth_method: 'private_key_jwt',
      dpop_bound_access_tokens: true,
      require_pushed_authorization_requests: false,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      redirect_uris: ['http://localhost:1234/authorization-code/callback'],
      post_logout_redirect_uris: ['http://localhost:1234/'],
      backchannel_logout_uri: 'http://localhost:1234/auth/backchannel-logout',
      frontchannel_logout_uri: 'http://localhost:1234/auth/frontchannel-logout',
      jwks: keys.jwks,
    });
    expect(client.client_secret).toBeUndefined();
  });

  it('refuses a private key in the JWKS at start', async () => {
    const { d: _public, ...rest } = keys.jwks.keys[0] ?? {};
    const jwks = { keys: [{ ...rest, d: 'AAAA' }] };
    await expect(startDevIdp({ port: 0, clients: [createSecureDevClient({ jwks })] })).rejects.toThrow(
      /invalid client 0oadevbffsecure0000/,
    );
  });
});
