/**
 * The step-up of `DELETE /items/:id` against the real dev IdP: its access tokens carry `acr` and
 * `auth_time` the way the API's policy reads them, and the `acr_values`/`max_age` the API's
 * challenge names are what the IdP needs to issue a token that passes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createDevClient, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { DEFAULT_REDIRECT_URL, DEV_IDP } from '@okta-bff/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from './app.ts';
import { createMemoryItemStore } from './item-store.ts';
import { bearer } from './test-tokens.ts';

let idp: DevIdp;

beforeAll(async () => {
  // No logout channels: nothing is sent to whatever listens on port 8000.
  idp = await startDevIdp({
    port: 0,
    clients: [createDevClient({ backchannelLogoutUri: null, frontchannelLogoutUri: null })],
  });
});
afterAll(async () => {
  await idp.close();
});

/** Signs alice in through `at`'s pages with `params` added, and returns the access token. */
async function accessToken(at: DevIdp, jar: CookieJar, params: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${at.issuer}/v1/authorize`);
  url.search = new URLSearchParams({
    client_id: DEV_IDP.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: DEFAULT_REDIRECT_URL,
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  const [alice] = at.users;
  if (!alice) throw new Error('no dev user');
  const pages: string[] = [];
  const callback = await driveIdpLogin({
    authorizeUrl: url,
    username: alice.login,
    password: alice.password,
    jar,
    onPage: (page) => pages.push(page),
  });
  const code = new URL(callback.url).searchParams.get('code') ?? '';
  const response = await fetch(`${at.issuer}/v1/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${DEV_IDP.clientId}:${DEV_IDP.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: DEFAULT_REDIRECT_URL,
      code_verifier: verifier,
    }),
  });
  const body = (await response.json()) as { access_token: string };
  return { token: body.access_token, pages };
}

/** `acr_values` and `max_age` of a challenge (quoted-string or token values). */
function challengeParams(header: string | null): Record<string, string> {
  return Object.fromEntries(
    [...(header ?? '').matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)].map((m) => [m[1], m[2] ?? m[3] ?? '']),
  );
}

describe('DELETE /items/:id with the dev IdP', () => {
  it('refuses a password sign-in with a challenge whose acr_values and max_age get a token that passes', async () => {
    const store = createMemoryItemStore();
    const app = createApiApp({ issuer: idp.issuer, audience: DEV_IDP.audience, store, logError: () => {} });
    const jar = new CookieJar();

    const first = await accessToken(idp, jar);
    expect(first.pages).toEqual(['login']);
    const created = await app.request('/items', {
      method: 'POST',
      headers: { ...bearer(first.token), 'content-type': 'application/json' },
      body: '{"name":"milk"}',
    });
    const { id } = (await created.json()) as { id: string };

    const refused = await app.request(`/items/${id}`, { method: 'DELETE', headers: bearer(first.token) });
    expect(refused.status).toBe(401);
    const {
      error,
      acr_values: acrValues,
      max_age: maxAge,
    } = challengeParams(refused.headers.get('www-authenticate'));
    expect({ error, acrValues, maxAge }).toEqual({
      error: 'insufficient_user_authentication',
      acrValues: 'urn:okta:loa:2fa:any',
      maxAge: '300',
    });

    // The same browser asks the IdP for what the challenge named: only the second factor is asked.
    const stepped = await accessToken(idp, jar, { acr_values: acrValues ?? '', max_age: maxAge ?? '' });
    expect(stepped.pages).toEqual(['otp']);
    const deleted = await app.request(`/items/${id}`, { method: 'DELETE', headers: bearer(stepped.token) });
    expect(deleted.status).toBe(204);
    expect(await store.list(idp.users[0]?.claims.sub ?? '')).toEqual([]);
  });

  it('still refuses a token from an IdP that ignores acr_values', async () => {
    const ignoring = await startDevIdp({
      port: 0,
      ignoreAcrValues: true,
      clients: [createDevClient({ backchannelLogoutUri: null, frontchannelLogoutUri: null })],
    });
    try {
      const app = createApiApp({ issuer: ignoring.issuer, audience: DEV_IDP.audience, logError: () => {} });
      const { token, pages } = await accessToken(ignoring, new CookieJar(), {
        acr_values: 'urn:okta:loa:2fa:any',
        max_age: '300',
      });
      expect(pages).toEqual(['login']);
      const res = await app.request('/items/any', { method: 'DELETE', headers: bearer(token) });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('insufficient_user_authentication');
    } finally {
      await ignoring.close();
    }
  });
});
