import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiApp } from './app.ts';
import { authChallenge } from './bearer-auth.ts';
import { ApiError } from './errors.ts';
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
      remove: async () => {
        throw new Error('unused');
      },
      stats: async () => {
        throw new Error('unused');
      },
      subscribe: () => undefined,
    };
    const res = await makeApp({ store: broken, logError }).request('/items', { headers: bearer(aliceToken) });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'internal_error', message: 'Something went wrong' });
    expect(text).not.toContain('fire');
    expect(logError).toHaveBeenCalledWith('unexpected error', expect.any(Error));
  });
});

describe('GET /public/notices', () => {
  it('answers without a token, and ignores one that is sent (even a broken one)', async () => {
    const app = makeApp();
    for (const headers of [{}, { authorization: 'Bearer not-a-jwt' }, bearer(aliceToken)]) {
      const res = await app.request('/public/notices', { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('www-authenticate')).toBeNull();
      const body = await res.json();
      expect(body.status).toBe('operational');
      expect(body.notices.length).toBeGreaterThan(0);
      for (const notice of body.notices) {
        expect(notice).toEqual({
          id: expect.any(String),
          title: expect.any(String),
          text: expect.any(String),
          publishedAt: expect.any(String),
        });
      }
    }
  });

  it('answers what it is given', async () => {
    const notices = { status: 'maintenance' as const, notices: [] };
    const app = createApiApp({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, jwks: idp.jwks, notices });
    expect(await (await app.request('/public/notices')).json()).toEqual(notices);
  });

  it.each([
    ['GET', '/public'],
    ['GET', '/public/nope'],
    ['POST', '/public/notices'],
  ])('answers %s %s with 404, not 401, without a token', async (method, path) => {
    const res = await makeApp().request(path, { method });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe('not_found');
  });
});

describe('GET /stats', () => {
  const statsToken = (scp: unknown, extra: Record<string, unknown> = {}) =>
    idp.signAccessToken({ sub: 'test-client', cid: 'test-client', scp, ...extra });

  it('counts items and users over everyone, and says nothing about anyone', async () => {
    const app = makeApp();
    for (const [token, name] of [
      [aliceToken, 'a'],
      [aliceToken, 'b'],
      [bobToken, 'c'],
    ] as const) {
      expect((await postItem(app, token, JSON.stringify({ name }))).status).toBe(201);
    }
    const res = await app.request('/stats', { headers: bearer(await statsToken(['items:stats'])) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ totalItems: 3, usersWithItems: 2 });
  });

  it.each([
    ['Okta scp as an array', { scp: ['openid', 'items:stats'] }],
    ['scp as a space-separated string', { scp: 'openid items:stats' }],
    ['RFC 9068 scope', { scp: undefined, scope: 'items:stats other' }],
  ])('accepts the scope from %s', async (_, claims) => {
    const token = await idp.signAccessToken({ sub: 'test-client', ...claims });
    const res = await makeApp().request('/stats', { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ totalItems: 0, usersWithItems: 0 });
  });

  it.each([
    ['a user token without the scope', ['openid', 'profile']],
    ['no scp at all', undefined],
    ['a scope that only contains the name', ['items:stats:write', 'xitems:stats']],
  ])('refuses %s with 403 insufficient_scope and the challenge of RFC 6750 §3.1', async (_, scp) => {
    const res = await makeApp().request('/stats', { headers: bearer(await statsToken(scp)) });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe('insufficient_scope');
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="items:stats"',
    );
  });

  it('challenges a DPoP-bound token without the scope in the DPoP scheme (RFC 9449 §7.1)', () => {
    const err = new ApiError('insufficient_scope', 403, 'x', { scheme: 'DPoP', scope: 'items:stats' });
    expect(authChallenge(err)).toBe(
      'DPoP error="insufficient_scope", scope="items:stats", algs="ES256 RS256 PS256 EdDSA"',
    );
  });

  it('answers 401 without a token', async () => {
    const res = await makeApp().request('/stats');
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe('unauthenticated');
  });
});

describe('/live over plain HTTP', () => {
  it('is 400 for a request that is not a handshake, 401 without a token', async () => {
    const app = makeApp();
    const res = await app.request('/live', { headers: bearer(aliceToken) });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('bad_request');
    expect((await app.request('/live')).status).toBe(401);
  });
});
