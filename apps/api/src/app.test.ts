import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiApp } from './app.ts';
import { createMemoryItemStore, type ItemStore } from './item-store.ts';
import {
  bearer,
  createTestIssuer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_KID,
  type TestIssuer,
} from './test-tokens.ts';

let idp: TestIssuer;
let aliceToken: string;
let bobToken: string;

beforeAll(async () => {
  idp = await createTestIssuer();
  aliceToken = await idp.signAccessToken({ sub: 'alice@example.com' });
  bobToken = await idp.signAccessToken({ sub: 'bob@example.com' });
});

function makeApp(overrides: { store?: ItemStore; logError?: (m: string, e: unknown) => void } = {}) {
  return createApiApp({
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks: idp.jwks,
    logError: overrides.logError ?? (() => {}),
    ...(overrides.store ? { store: overrides.store } : {}),
  });
}

function postItem(app: ReturnType<typeof makeApp>, token: string, body: string) {
  return app.request('/items', {
    method: 'POST',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body,
  });
}

describe('GET /healthz', () => {
  it('answers 200 without a token', async () => {
    const res = await makeApp().request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('items', () => {
  it('creates an item and lists it for its owner only', async () => {
    const app = makeApp();
    const created = await postItem(app, aliceToken, JSON.stringify({ name: '  Buy milk  ' }));
    expect(created.status).toBe(201);
    const item = await created.json();
    expect(item).toEqual({ id: expect.any(String), name: 'Buy milk', createdAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(item.createdAt))).toBe(false);

    const alice = await app.request('/items', { headers: bearer(aliceToken) });
    expect(alice.status).toBe(200);
    expect(await alice.json()).toEqual({ items: [item] });

    const bob = await app.request('/items', { headers: bearer(bobToken) });
    expect(await bob.json()).toEqual({ items: [] });
  });

  it.each([
    ['not JSON', '{name:'],
    ['an array', '["x"]'],
    ['no name', '{}'],
    ['a non-string name', '{"name": 42}'],
    ['an empty name', '{"name": ""}'],
    ['a blank name', '{"name": "   "}'],
    ['a 201-character name', JSON.stringify({ name: 'x'.repeat(201) })],
  ])('refuses %s with 400 bad_request and stores nothing', async (_, body) => {
    const app = makeApp();
    const res = await postItem(app, aliceToken, body);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('bad_request');
    expect(await (await app.request('/items', { headers: bearer(aliceToken) })).json()).toEqual({
      items: [],
    });
  });

  it('accepts 200 characters, counting an emoji as one', async () => {
    const res = await postItem(makeApp(), aliceToken, JSON.stringify({ name: '😀'.repeat(200) }));
    expect(res.status).toBe(201);
  });

  it('refuses a body over the size limit with 413', async () => {
    const res = await postItem(makeApp(), aliceToken, JSON.stringify({ name: 'x', pad: 'y'.repeat(20_000) }));
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe('payload_too_large');
  });

  it('stops at the per-user limit without affecting other users', async () => {
    const app = makeApp({ store: createMemoryItemStore({ maxItemsPerOwner: 2 }) });
    for (const name of ['a', 'b'])
      expect((await postItem(app, aliceToken, JSON.stringify({ name }))).status).toBe(201);
    const third = await postItem(app, aliceToken, JSON.stringify({ name: 'c' }));
    expect(third.status).toBe(400);
    expect((await third.json()).error).toBe('item_limit_reached');
    expect((await postItem(app, bobToken, JSON.stringify({ name: 'c' }))).status).toBe(201);
  });
});

describe('bearer token checks', () => {
  const now = () => Math.floor(Date.now() / 1000);
  // Each case builds an Authorization header value that must be refused.
  const refused: [string, () => Promise<string>, string | RegExp][] = [
    ['a malformed token', async () => 'Bearer not-a-jwt', /well-formed|malformed/],
    ['characters outside b64token', async () => 'Bearer a"b', 'not a well-formed token'],
    ['an empty Bearer', async () => 'Bearer ', 'not a well-formed token'],
    [
      'a wrong issuer',
      async () => `Bearer ${await idp.signAccessToken({ iss: 'https://evil.example/oauth2/default' })}`,
      'another issuer',
    ],
    [
      'a wrong audience',
      async () => `Bearer ${await idp.signAccessToken({ aud: 'api://other' })}`,
      'not meant for this API',
    ],
    [
      'an expired token',
      async () => `Bearer ${await idp.signAccessToken({ iat: now() - 600, exp: now() - 60 })}`,
      'expired',
    ],
    [
      'a token without exp',
      async () => `Bearer ${await idp.signAccessToken({ exp: undefined })}`,
      'claim exp',
    ],
    [
      'a token without sub',
      async () => `Bearer ${await idp.signAccessToken({ sub: undefined })}`,
      'claim sub',
    ],
    [
      'a token not valid yet',
      async () => `Bearer ${await idp.signAccessToken({ nbf: now() + 600 })}`,
      'not valid yet',
    ],
    [
      'a token signed by another key with the same kid',
      async () =>
        `Bearer ${await idp.signAccessToken({}, { key: (await generateKeyPair('RS256')).privateKey })}`,
      'signature',
    ],
    [
      'a token with an unknown kid',
      async () => `Bearer ${await idp.signAccessToken({}, { kid: 'unknown-kid' })}`,
      'signature',
    ],
    [
      'alg none',
      async () =>
        `Bearer ${new UnsecuredJWT({ sub: 'alice@example.com', exp: now() + 300 }).setIssuer(TEST_ISSUER).setAudience(TEST_AUDIENCE).encode()}`,
      /algorithm|malformed/,
    ],
    [
      'HS256',
      async () =>
        `Bearer ${await new SignJWT({ sub: 'alice@example.com' })
          .setProtectedHeader({ alg: 'HS256', kid: TEST_KID })
          .setIssuer(TEST_ISSUER)
          .setAudience(TEST_AUDIENCE)
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!'))}`,
      'refused algorithm',
    ],
  ];

  it.each(refused)(
    'refuses %s: 401 invalid_token with a challenge, nothing stored',
    async (_, header, reason) => {
      const app = makeApp();
      const authorization = await header();
      const res = await app.request('/items', {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: '{"name":"should not be stored"}',
      });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.error).toBe('invalid_token');
      expect(body.message).toMatch(reason);
      expect(JSON.stringify(body)).not.toMatch(/\bat \S+:\d+/); // no stack trace
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer error="invalid_token", error_description="${body.message}"`,
      );
      expect(await (await app.request('/items', { headers: bearer(aliceToken) })).json()).toEqual({
        items: [],
      });
    },
  );

  it.each([
    ['no Authorization header', undefined],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
  ])(
    'answers %s with 401 unauthenticated and bare challenges (RFC 6750 §3.1, RFC 9449 §7.1)',
    async (_, authorization) => {
      const res = await makeApp().request('/items', authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('unauthenticated');
      const challenge = res.headers.get('www-authenticate');
      expect(challenge).toBe('Bearer realm="api", DPoP algs="ES256 RS256 PS256 EdDSA"');
      expect(challenge).not.toContain('error=');
    },
  );

  it('accepts the scheme in any case', async () => {
    const res = await makeApp().request('/items', { headers: { authorization: `bEaReR ${aliceToken}` } });
    expect(res.status).toBe(200);
  });

  it('answers 503 idp_unavailable, without a challenge, when the keys cannot be fetched', async () => {
    const logError = vi.fn();
    const app = createApiApp({
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      jwks: async () => {
        throw new TypeError('fetch failed');
      },
      logError,
    });
    const res = await app.request('/items', { headers: bearer(aliceToken) });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toBe('idp_unavailable');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(logError).toHaveBeenCalledOnce();
  });
});

describe('errors', () => {
  it('answers unknown routes with 404 JSON once authenticated, 401 before', async () => {
    const app = makeApp();
    const res = await app.request('/nope', { headers: bearer(aliceToken) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'No such route' });
    expect((await app.request('/nope')).status).toBe(401);
  });

  it('hides unexpected failures behind 500 internal_error and logs them', async () => {
    const logError = vi.fn();
    const broken: ItemStore = {
      list: async () => {
        throw new Error('database on fire at /srv/secret/path');
      },
      add: async () => {
        throw new Error('unused');
      },
    };
    const res = await makeApp({ store: broken, logError }).request('/items', { headers: bearer(aliceToken) });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'internal_error', message: 'Something went wrong' });
    expect(text).not.toContain('fire');
    expect(logError).toHaveBeenCalledWith('unexpected error', expect.any(Error));
  });
});
