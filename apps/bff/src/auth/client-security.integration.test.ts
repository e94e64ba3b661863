/**
 * Okta-grade client security against the embedded IdP over real HTTP: `private_key_jwt` client
 * authentication (with a JWK, or a PEM registered under a `kid` the IdP chose, or under none),
 * `client_secret_post`, pushed authorization requests and DPoP-bound tokens, each alone and all
 * three together; the upstream is the real sample API (which verifies DPoP) or a recording server that
 * shows exactly what the BFF sent. Keys are generated per run.
 */

import { createHash, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { createApiApp } from '@okta-bff/api';
import {
  createPostSecretDevClientFor,
  createSecureDevClientFor,
  DEV_POST_CLIENT_ID,
  DEV_POST_CLIENT_SECRET,
  DEV_SECURE_CLIENT_ID,
} from '@okta-bff/dev-idp';
import { driveIdpLogin, IdpLoginError } from '@okta-bff/dev-idp/testing';
import { DEV_IDP } from '@okta-bff/oidc';
import {
  calculateJwkThumbprint,
  decodeJwt,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, sessionCookiesSet, startGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, DEV_USERS, signIn } from '../testing/harness.ts';

/** A `private_key_jwt` client without DPoP (the secure dev client requires DPoP). */
const PKJ_CLIENT_ID = '0oadevbffpkjonly0000';
/**
 * `private_key_jwt` clients whose key (a PEM for the BFF) the IdP registered under a `kid` of its
 * own choosing, as Okta does for a key pair it generated: without DPoP, and with it.
 */
const PEM_CLIENT_ID = '0oadevbffpemkid00000';
const PEM_DPOP_CLIENT_ID = '0oadevbffpemdpop0000';
const IDP_CHOSEN_KID = 'okta-generated-kid-7f3a';

let g: Gateway;
let clientJwk: JWK;
let otherJwk: JWK;
let clientPem: string;
let api: ServerType;
let apiOrigin: string;
let nonceApi: ServerType;
let nonceApiOrigin: string;

const serveApi = async (dpopNonce: boolean): Promise<[ServerType, string]> => {
  const app = createApiApp({
    issuer: g.h.idp.issuer,
    audience: DEV_IDP.audience,
    logError: () => {},
    dpopNonce,
  });
  let server: ServerType | undefined;
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  return [server!, `http://127.0.0.1:${(server!.address() as AddressInfo).port}`];
};

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  clientJwk = { ...(await exportJWK(pair.privateKey)), kid: 'bff-test-key', alg: 'ES256' };
  otherJwk = {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'bff-test-key',
    alg: 'ES256',
  };
  const { d: _d, ...publicJwk } = clientJwk;
  const pemPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  clientPem = pemPair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pemPublicJwk = { ...pemPair.publicKey.export({ format: 'jwk' }), kid: IDP_CHOSEN_KID, alg: 'ES256' };
  expect(await calculateJwkThumbprint(pemPublicJwk)).not.toBe(IDP_CHOSEN_KID);
  g = await startGateway({}, (origin) => [
    createSecureDevClientFor({ keys: [publicJwk] }, origin),
    {
      ...createSecureDevClientFor({ keys: [publicJwk] }, origin),
      client_id: PKJ_CLIENT_ID,
      dpop_bound_access_tokens: false,
    },
    {
      ...createSecureDevClientFor({ keys: [pemPublicJwk] }, origin),
      client_id: PEM_CLIENT_ID,
      dpop_bound_access_tokens: false,
    },
    { ...createSecureDevClientFor({ keys: [pemPublicJwk] }, origin), client_id: PEM_DPOP_CLIENT_ID },
    createPostSecretDevClientFor(origin),
  ]);
  [api, apiOrigin] = await serveApi(false);
  [nonceApi, nonceApiOrigin] = await serveApi(true);
});
afterEach(() => {
  g.rec.requests.length = 0;
});
afterAll(async () => {
  await new Promise((r) => api?.close(r));
  await new Promise((r) => nonceApi?.close(r));
  await g?.close();
});

const pkjEnv = (clientId = PKJ_CLIENT_ID, jwk: JWK = clientJwk) => ({
  CLIENT_ID: clientId,
  CLIENT_SECRET: '',
  CLIENT_AUTH_METHOD: 'private_key_jwt',
  CLIENT_PRIVATE_KEY: JSON.stringify(jwk),
});
const endpoint = (name: string) => `${g.h.idp.issuer}/v1/${name}`;

/**
 * Signs in (pushed when `env` says so), refreshes through `/api` and signs out: every kind of
 * call the BFF authenticates as a client, in one session. The IdP's records start empty.
 */
async function signInRefreshAndSignOut(env: Record<string, string>) {
  g.h.idp.events.clear();
  const { bff, jar } = await g.signedIn(env);
  const session = await g.expireAccessToken(jar);
  const refreshed = await g.raw('/api/items', { headers: g.apiHeaders(jar) });
  expect(refreshed.status).toBe(200);
  jar.store(
    g.h.origin,
    new Response(null, { headers: sessionCookiesSet(refreshed).map((c) => ['set-cookie', c]) }),
  );
  const refreshedSession = await g.sessionIn(jar);
  const logout = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar) });
  expect(logout.status).toBe(200);
  return { bff, session, refreshedSession, texts: [refreshed.text, logout.text] };
}

/** The endpoints of the IdP's client authentications, sorted, and the errors answered. */
const authenticatedEndpoints = () => g.h.idp.events.clientAuthentications.map((a) => a.endpoint).sort();

/**
 * No log line carries a JWT (token, assertion or proof) or the private key; no response body
 * carries the key, an access or refresh token (the sign-out URL's `id_token_hint` is the one
 * token the browser ever sees, as Okta requires).
 */
function expectNothingLeaked(bff: Bff, bodies: string[], tokens: readonly (string | undefined)[]) {
  const logs = bff.logs.join('\n');
  expect(logs).not.toMatch(/eyJ[\w-]{8,}\.eyJ[\w-]{8,}/);
  for (const text of [logs, ...bodies]) {
    expect(text).not.toContain(String(clientJwk.d));
    expect(text).not.toMatch(/"d":"/);
    for (const token of tokens) if (token) expect(text).not.toContain(token);
  }
}

describe('private_key_jwt', () => {
  it('signs in, refreshes and signs out with assertions whose aud is exactly each endpoint; no secret is sent', async () => {
    g.h.idp.events.clear();
    const { bff, jar } = await g.signedIn(pkjEnv());
    await g.expireAccessToken(jar);
    const refreshed = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
    expect(refreshed.status).toBe(200);
    jar.store(
      g.h.origin,
      new Response(null, { headers: sessionCookiesSet(refreshed).map((c) => ['set-cookie', c]) }),
    );
    const session = await g.sessionIn(jar);
    const logout = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar) });
    expect(logout.status).toBe(200);

    const assertions = g.h.idp.events.clientAssertions;
    const byEndpoint = (e: string) => assertions.filter((a) => a.endpoint === e);
    expect(byEndpoint('token')).toHaveLength(2); // code exchange, refresh
    expect(byEndpoint('revocation')).toHaveLength(1);
    for (const a of assertions) {
      expect(a).toMatchObject({
        iss: PKJ_CLIENT_ID,
        sub: PKJ_CLIENT_ID,
        alg: 'ES256',
        kid: 'bff-test-key',
        error: undefined,
      });
      expect(a.aud).toBe(a.endpointUrl);
    }
    expect(byEndpoint('token')[0]!.aud).toBe(endpoint('token'));
    expect(byEndpoint('revocation')[0]!.aud).toBe(endpoint('revoke'));
    expect(new Set(assertions.map((a) => a.jti)).size).toBe(assertions.length);
    expect(g.h.idp.events.clientSecretsPresented(PKJ_CLIENT_ID)).toBe(0);
    expect(g.h.idp.events.revokedRefreshTokenCount).toBe(1);
    expectNothingLeaked(bff, [logout.text, refreshed.text], [session.accessToken, session.refreshToken]);
  });

  it('a key the IdP does not know fails the login cleanly (login_error, no session)', async () => {
    const bff = await g.h.startBff({ ...pkjEnv(PKJ_CLIENT_ID, otherJwk), API_UPSTREAM_URL: g.rec.origin });
    const { callback } = await signIn(bff, new CookieJar());
    expect(callback.headers.get('location')).toBe('/?login_error=token_exchange_failed');
    expect(callback.headers.getSetCookie().some((c) => c.startsWith('bff_session'))).toBe(false);
  });
});

describe('private_key_jwt with a key the IdP registered under its own kid', () => {
  const pemEnv = (clientId: string, keyId?: string) => ({
    CLIENT_ID: clientId,
    CLIENT_SECRET: '',
    CLIENT_AUTH_METHOD: 'private_key_jwt',
    CLIENT_PRIVATE_KEY: clientPem,
    ...(keyId === undefined ? {} : { CLIENT_PRIVATE_KEY_ID: keyId }),
  });

  it('sends CLIENT_PRIVATE_KEY_ID as the kid of every assertion: PAR, code exchange, refresh, revocation', async () => {
    const { bff, session, texts } = await signInRefreshAndSignOut({
      ...pemEnv(PEM_CLIENT_ID, IDP_CHOSEN_KID),
      OKTA_USE_PAR: 'true',
    });
    const assertions = g.h.idp.events.clientAssertions;
    expect(assertions.map((a) => a.endpoint).sort()).toEqual(['par', 'revocation', 'token', 'token']);
    for (const a of assertions) {
      expect(a).toMatchObject({ sub: PEM_CLIENT_ID, alg: 'ES256', kid: IDP_CHOSEN_KID, error: undefined });
      expect(a.aud).toBe(a.endpointUrl);
    }
    expect(g.h.idp.events.revokedRefreshTokenCount).toBe(1);
    expect(g.h.idp.events.clientSecretsPresented(PEM_CLIENT_ID)).toBe(0);
    expect(bff.logs.join('\n')).not.toContain(clientPem.slice(40, 80));
    expectNothingLeaked(bff, texts, [session.accessToken, session.refreshToken]);
  });

  it('a PEM without CLIENT_PRIVATE_KEY_ID sends no kid, and the IdP finds the key itself', async () => {
    await signInRefreshAndSignOut({ ...pemEnv(PEM_CLIENT_ID), OKTA_USE_PAR: 'true' });
    const assertions = g.h.idp.events.clientAssertions;
    expect(assertions.map((a) => a.endpoint).sort()).toEqual(['par', 'revocation', 'token', 'token']);
    for (const a of assertions) expect(a).toMatchObject({ kid: undefined, error: undefined });
  });

  it('works with PAR and DPoP together, the code bound to the session’s DPoP key (dpop_jkt)', async () => {
    const { refreshedSession } = await signInRefreshAndSignOut({
      ...pemEnv(PEM_DPOP_CLIENT_ID, IDP_CHOSEN_KID),
      OKTA_USE_PAR: 'true',
      API_TOKEN_TYPE: 'dpop',
      API_UPSTREAM_URL: apiOrigin,
    });
    const assertions = g.h.idp.events.clientAssertions;
    expect(assertions.map((a) => a.endpoint).sort()).toEqual(['par', 'revocation', 'token', 'token']);
    for (const a of assertions) expect(a).toMatchObject({ kid: IDP_CHOSEN_KID, error: undefined });
    const jkt = (decodeJwt(refreshedSession.accessToken).cnf as { jkt?: string } | undefined)?.jkt;
    expect(jkt).toMatch(/^[\w-]{43}$/);
    expect(g.h.idp.events.pushedAuthorizationRequests).toMatchObject([
      { clientId: PEM_DPOP_CLIENT_ID, dpopJkt: jkt },
    ]);
  });

  it('a kid the IdP does not know fails the login cleanly (login_error, no session)', async () => {
    const bff = await g.h.startBff({
      ...pemEnv(PEM_CLIENT_ID, 'not-the-registered-kid'),
      API_UPSTREAM_URL: g.rec.origin,
    });
    g.h.idp.events.clear();
    const { callback } = await signIn(bff, new CookieJar());
    expect(callback.headers.get('location')).toBe('/?login_error=token_exchange_failed');
    expect(callback.headers.getSetCookie().some((c) => c.startsWith('bff_session'))).toBe(false);
    expect(g.h.idp.events.clientAssertions).toMatchObject([
      { kid: 'not-the-registered-kid', error: 'invalid_client' },
    ]);
  });
});

describe('client_secret_post', () => {
  const postEnv = {
    CLIENT_ID: DEV_POST_CLIENT_ID,
    CLIENT_SECRET: DEV_POST_CLIENT_SECRET,
    CLIENT_AUTH_METHOD: 'client_secret_post',
  };

  it('puts a secret Basic would percent-encode in the form body of PAR, code exchange, refresh and revocation', async () => {
    expect(DEV_POST_CLIENT_SECRET).not.toBe(encodeURIComponent(DEV_POST_CLIENT_SECRET));
    expect(DEV_POST_CLIENT_SECRET).toContain('-');
    const { bff, session, texts } = await signInRefreshAndSignOut({ ...postEnv, OKTA_USE_PAR: 'true' });
    expect(authenticatedEndpoints()).toEqual(['par', 'revocation', 'token', 'token']);
    // `client_secret_post` as the IdP saw it: no Basic `Authorization` header, `client_secret` in
    // the body (oidc-provider compares it exactly), and the client named by the body's `client_id`.
    for (const a of g.h.idp.events.clientAuthentications) {
      expect(a).toMatchObject({
        clientId: DEV_POST_CLIENT_ID,
        method: 'client_secret_post',
        error: undefined,
      });
    }
    expect(g.h.idp.events.revokedRefreshTokenCount).toBe(1);
    expect(bff.logs.join('\n')).not.toContain(DEV_POST_CLIENT_SECRET);
    expectNothingLeaked(bff, texts, [session.accessToken, session.refreshToken]);
  });
});

describe('pushed authorization requests', () => {
  it('sends the browser to the IdP with only client_id and request_uri, and signs in', async () => {
    g.h.idp.events.clear();
    const bff = await g.h.startBff({ OKTA_USE_PAR: 'true', API_UPSTREAM_URL: g.rec.origin });
    const jar = new CookieJar();
    const { authorizeUrl, callback } = await signIn(bff, jar);
    expect([...authorizeUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(authorizeUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(callback.headers.get('location')).toBe('/');
    expect(g.h.idp.events.pushedAuthorizationRequests).toHaveLength(1);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('a replayed or tampered request_uri fails at the IdP; the BFF is not fooled', async () => {
    const bff = await g.h.startBff({ OKTA_USE_PAR: 'true', API_UPSTREAM_URL: g.rec.origin });
    const jar = new CookieJar();
    const { authorizeUrl } = await signIn(bff, jar);
    const user = DEV_USERS[0]!;
    await expect(
      driveIdpLogin({ authorizeUrl, username: user.login, password: user.password }),
    ).rejects.toBeInstanceOf(IdpLoginError);
    const tampered = new URL(authorizeUrl);
    tampered.searchParams.set('request_uri', `${authorizeUrl.searchParams.get('request_uri')}x`);
    await expect(
      driveIdpLogin({ authorizeUrl: tampered, username: user.login, password: user.password }),
    ).rejects.toBeInstanceOf(IdpLoginError);
  });
});

/** Verifies a DPoP proof the upstream received against its token, as a resource server would. */
async function verifyProof(proof: string, accessToken: string, method: string, url: string) {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
    typ: 'dpop+jwt',
    algorithms: ['ES256'],
  });
  const cnf = decodeJwt(accessToken).cnf as { jkt?: string } | undefined;
  expect(cnf?.jkt).toBe(await calculateJwkThumbprint(protectedHeader.jwk as JWK));
  expect(payload).toMatchObject({
    htm: method,
    htu: url,
    ath: createHash('sha256').update(accessToken).digest('base64url'),
  });
  expect(protectedHeader.jwk).not.toHaveProperty('d');
  return payload;
}

describe('DPoP-bound access tokens', () => {
  it('forwards Authorization: DPoP with a fresh proof bound to the token, per request', async () => {
    const { bff, jar } = await g.signedIn({ API_TOKEN_TYPE: 'dpop' });
    const session = await g.sessionIn(jar);
    expect(decodeJwt(session.accessToken).cnf).toBeDefined();
    for (const method of ['GET', 'DELETE'])
      expect((await g.raw('/api/things/1?q=x', { method, headers: g.apiHeaders(jar) })).status).toBe(200);
    const seen = g.rec.requests.splice(0);
    const jtis = new Set<unknown>();
    for (const [i, r] of seen.entries()) {
      expect(r.headers.authorization).toBe(`DPoP ${session.accessToken}`);
      const payload = await verifyProof(
        String(r.headers.dpop),
        session.accessToken,
        ['GET', 'DELETE'][i]!,
        `${g.rec.origin}/things/1`,
      );
      jtis.add(payload.jti);
    }
    expect(jtis.size).toBe(2);
    expectNothingLeaked(bff, [], [session.accessToken, session.refreshToken]);
  });

  it('works end to end with the sample API verifying DPoP, and 20 parallel calls needing a refresh cause one refresh', async () => {
    const { jar } = await g.signedIn({ API_TOKEN_TYPE: 'dpop', API_UPSTREAM_URL: apiOrigin });
    expect((await g.raw('/api/items', { headers: g.apiHeaders(jar) })).status).toBe(200);
    await g.expireAccessToken(jar);
    g.h.idp.events.clear();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => g.raw('/api/items', { headers: g.apiHeaders(jar) })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(g.h.idp.events.tokenGrants.filter((t) => t.grantType === 'refresh_token')).toHaveLength(1);
    // One refresh, one proof: this IdP asks for no nonce, so nothing is sent twice.
    expect(g.h.idp.events.dpopProofs.filter((p) => p.endpoint === 'token')).toMatchObject([
      { htm: 'POST', hadNonce: false, error: undefined },
    ]);
    jar.store(
      g.h.origin,
      new Response(null, { headers: sessionCookiesSet(answers[0]!).map((c) => ['set-cookie', c]) }),
    );
    expect(decodeJwt((await g.sessionIn(jar)).accessToken).cnf).toBeDefined();
  });

  it('answers the API’s nonce challenge once (a small body is replayed), and uses the nonce afterwards', async () => {
    const { jar } = await g.signedIn({ API_TOKEN_TYPE: 'dpop', API_UPSTREAM_URL: nonceApiOrigin });
    // The first call after start has no nonce: the API asks, the BFF replays the POST once.
    const created = await g.raw('/api/items', {
      method: 'POST',
      headers: g.apiHeaders(jar, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'milk' }),
    });
    expect(created.status).toBe(201);
    const listed = await g.raw('/api/items', { headers: g.apiHeaders(jar) });
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.text).items).toEqual([expect.objectContaining({ name: 'milk' })]);
  });

  it('answers the IdP’s use_dpop_nonce once at login and at refresh', async () => {
    const strict = await startGateway({ dpopNonce: true });
    try {
      const events = strict.h.idp.events;
      const tokenUrl = `${strict.h.idp.issuer}/v1/token`;
      /** The token endpoint's proofs, in order: whether each had a nonce, what it was answered, its key. */
      const tokenProofs = () =>
        events.dpopProofs
          .filter((p) => p.endpoint === 'token')
          .map(({ hadNonce, error, jkt, htm, htu }) => ({ hadNonce, error, jkt, htm, htu }));
      /** One proof without nonce, challenged; the retry with the nonce, accepted; both by the session's key. */
      const challengedOnce = (jkt: unknown) => [
        { hadNonce: false, error: 'use_dpop_nonce', jkt, htm: 'POST', htu: tokenUrl },
        { hadNonce: true, error: undefined, jkt, htm: 'POST', htu: tokenUrl },
      ];
      const boundKey = async (jar: CookieJar) =>
        (decodeJwt((await strict.sessionIn(jar)).accessToken).cnf as { jkt?: string } | undefined)?.jkt;

      const { jar } = await strict.signedIn({ API_TOKEN_TYPE: 'dpop' });
      const jkt = await boundKey(jar);
      expect(jkt).toMatch(/^[\w-]{43}$/);
      expect(tokenProofs()).toEqual(challengedOnce(jkt));
      expect(events.tokenErrors.map((e) => [e.grantType, e.error])).toEqual([
        ['authorization_code', 'use_dpop_nonce'],
      ]);
      expect(events.tokenGrants.map((t) => t.grantType)).toEqual(['authorization_code']);

      await strict.expireAccessToken(jar);
      events.clear();
      const called = await strict.raw('/api/things', { headers: strict.apiHeaders(jar) });
      expect(called.status).toBe(200);
      // The refresh starts without the login's nonce (each IdP call gets a fresh DPoP handle), so
      // the IdP challenges it once more, and the retry carries the nonce.
      expect(tokenProofs()).toEqual(challengedOnce(jkt));
      expect(events.tokenErrors.map((e) => [e.grantType, e.error])).toEqual([
        ['refresh_token', 'use_dpop_nonce'],
      ]);
      expect(events.tokenGrants.map((t) => t.grantType)).toEqual(['refresh_token']);
    } finally {
      await strict.close();
    }
  });
});

describe('all three together (the secure dev client: private_key_jwt, PAR, DPoP)', () => {
  it('signs in, calls the sample API, refreshes and signs out', async () => {
    g.h.idp.events.clear();
    const env = {
      ...pkjEnv(DEV_SECURE_CLIENT_ID),
      OKTA_USE_PAR: 'true',
      API_TOKEN_TYPE: 'dpop',
      API_UPSTREAM_URL: apiOrigin,
    };
    const { bff, jar } = await g.signedIn(env);
    expect((await g.raw('/api/items', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const session = await g.expireAccessToken(jar);
    expect((await g.raw('/api/items', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const logout = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar) });
    expect(logout.status).toBe(200);
    const assertions = g.h.idp.events.clientAssertions;
    expect(assertions.map((a) => a.endpoint).sort()).toEqual(['par', 'revocation', 'token', 'token']);
    for (const a of assertions) expect(a.aud).toBe(a.endpointUrl);
    expect(assertions.find((a) => a.endpoint === 'par')?.aud).toBe(endpoint('par'));
    // RFC 9449 §10: the pushed request bound the code to the key the session's tokens are bound to.
    const jkt = (decodeJwt(session.accessToken).cnf as { jkt?: string } | undefined)?.jkt;
    expect(jkt).toMatch(/^[\w-]{43}$/);
    expect(g.h.idp.events.pushedAuthorizationRequests).toMatchObject([{ dpopJkt: jkt }]);
    expect(g.h.idp.events.clientSecretsPresented(DEV_SECURE_CLIENT_ID)).toBe(0);
    expectNothingLeaked(bff, [logout.text], [session.accessToken, session.refreshToken]);
  });
});
