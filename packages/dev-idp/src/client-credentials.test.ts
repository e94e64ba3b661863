import { DEV_IDP } from '@okta-bff/oidc';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CUSTOM_SCOPES,
  createDevClient,
  createPostSecretDevClient,
  createSecureDevClient,
  DEV_POST_CLIENT_ID,
  DEV_POST_CLIENT_SECRET,
  DEV_SECURE_CLIENT_ID,
  type DevIdp,
  startDevIdp,
} from './index.ts';
import {
  generateSecureClientKeys,
  login,
  type SecureClientKeys,
  securePost,
  tokenRequest,
} from './test-helpers.ts';

const NO_CHANNELS = { backchannelLogoutUri: null, frontchannelLogoutUri: null } as const;
/** A client that may not use the grant: the default client without `client_credentials`. */
const NO_CC_CLIENT_ID = '0oadevbffnocc000000';

let keys: SecureClientKeys;
let idp: DevIdp;
let token: string;

beforeAll(async () => {
  keys = await generateSecureClientKeys('ES256');
  idp = await startDevIdp({
    port: 0,
    customScopes: [...CUSTOM_SCOPES, 'items:audit'],
    clients: [
      createDevClient(NO_CHANNELS),
      createPostSecretDevClient(NO_CHANNELS),
      createSecureDevClient({ jwks: keys.jwks, ...NO_CHANNELS }),
      {
        ...createDevClient(NO_CHANNELS),
        client_id: NO_CC_CLIENT_ID,
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
  });
  token = `${idp.issuer}/v1/token`;
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  idp.events.clear();
});

const clientCredentials = (scope?: string) => ({
  grant_type: 'client_credentials',
  ...(scope === undefined ? {} : { scope }),
});

async function verifyAccessToken(accessToken: string) {
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/v1/keys`));
  const { payload } = await jwtVerify(accessToken, jwks, {
    issuer: idp.issuer,
    audience: DEV_IDP.audience,
    algorithms: ['RS256'],
  });
  return payload;
}

describe('the client-credentials grant', () => {
  it('gives the dev client a JWT access token for the audience with Okta claims: sub = cid = the client, scp', async () => {
    const answer = await tokenRequest(idp, clientCredentials('items:stats'));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'items:stats' });
    expect(answer.body.refresh_token).toBeUndefined();
    expect(answer.body.id_token).toBeUndefined();
    const claims = await verifyAccessToken(String(answer.body.access_token));
    expect(claims).toMatchObject({
      sub: DEV_IDP.clientId,
      cid: DEV_IDP.clientId,
      ver: 1,
      scp: ['items:stats'],
    });
    expect(claims.uid).toBeUndefined();
    expect(claims.cnf).toBeUndefined();
    expect(idp.events.tokenGrants).toMatchObject([
      {
        grantType: 'client_credentials',
        clientId: DEV_IDP.clientId,
        accountId: undefined,
        tokenType: 'Bearer',
      },
    ]);
    expect(idp.events.grantCount('client_credentials')).toBe(1);
  });

  it('grants several custom scopes at once, each in scp', async () => {
    const answer = await tokenRequest(idp, clientCredentials('items:audit items:stats'));
    expect(answer.status).toBe(200);
    expect((await verifyAccessToken(String(answer.body.access_token))).scp).toEqual([
      'items:audit',
      'items:stats',
    ]);
  });

  it('authenticates client_secret_post the same way', async () => {
    const response = await fetch(token, {
      method: 'POST',
      body: new URLSearchParams({
        ...clientCredentials('items:stats'),
        client_id: DEV_POST_CLIENT_ID,
        client_secret: DEV_POST_CLIENT_SECRET,
      }),
    });
    expect(response.status).toBe(200);
    const claims = await verifyAccessToken(
      String(((await response.json()) as { access_token: string }).access_token),
    );
    expect(claims).toMatchObject({ sub: DEV_POST_CLIENT_ID, cid: DEV_POST_CLIENT_ID });
  });

  it.each([
    ['an unknown scope', 'items:delete'],
    ['an unknown scope next to a known one', 'items:stats items:delete'],
    ['openid', 'openid'],
    ['offline_access', 'offline_access'],
    ['profile', 'items:stats profile'],
    ['groups (a user-claim scope)', 'groups'],
    ['no scope at all', undefined],
  ])('refuses %s with invalid_scope, as Okta does', async (_what, scope) => {
    const answer = await tokenRequest(idp, clientCredentials(scope));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_scope');
    expect(answer.body.access_token).toBeUndefined();
    expect(idp.events.tokenErrors).toMatchObject([
      { grantType: 'client_credentials', error: 'invalid_scope' },
    ]);
    expect(idp.events.grantCount('client_credentials')).toBe(0);
  });

  it('refuses a client not registered for the grant', async () => {
    const basic = Buffer.from(`${NO_CC_CLIENT_ID}:${DEV_IDP.clientSecret}`).toString('base64');
    const response = await fetch(token, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
      body: new URLSearchParams(clientCredentials('items:stats')),
    });
    expect(response.status).toBe(400);
    expect(idp.events.grantCount('client_credentials')).toBe(0);
  });

  it('the private_key_jwt + DPoP client: needs a DPoP proof, and gets a token bound to its key', async () => {
    const withoutProof = await securePost(keys, token, clientCredentials('items:stats'));
    expect(withoutProof.status).toBe(400);
    expect(withoutProof.body.access_token).toBeUndefined();

    const answer = await securePost(keys, token, clientCredentials('items:stats'), { dpop: true });
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe('DPoP');
    const claims = decodeJwt(String(answer.body.access_token));
    expect(claims).toMatchObject({
      sub: DEV_SECURE_CLIENT_ID,
      cid: DEV_SECURE_CLIENT_ID,
      scp: ['items:stats'],
    });
    expect(claims.cnf).toEqual({ jkt: keys.dpopJkt });
    expect(idp.events.clientAuthentications.at(-1)).toMatchObject({
      method: 'private_key_jwt',
      error: undefined,
    });
  });

  it('leaves the user flows as they were: a custom scope asked for at sign-in is not granted to the user', async () => {
    const { tokens } = await login(idp, { scope: 'openid items:stats' });
    expect(tokens.scope).toBe('openid');
    expect((await verifyAccessToken(String(tokens.access_token))).scp).toEqual(['openid']);
  });

  it('refuses customScopes that are not scope tokens, or that are OpenID Connect scopes', async () => {
    await expect(startDevIdp({ port: 0, customScopes: ['items stats'] })).rejects.toThrow(/customScopes/);
    await expect(startDevIdp({ port: 0, customScopes: ['openid'] })).rejects.toThrow(/customScopes/);
  });
});
