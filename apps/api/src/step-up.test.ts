import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiAppOptions, createApiApp } from './app.ts';
import { createMemoryItemStore } from './item-store.ts';
import {
  DEFAULT_STEP_UP_POLICY,
  MULTI_FACTOR_ACR_VALUES,
  resolveStepUpPolicy,
  stepUpShortfall,
} from './step-up.ts';
import {
  bearer,
  createDpopKey,
  createTestIssuer,
  dpop,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestDpopKey,
  type TestIssuer,
} from './test-tokens.ts';

const TWO_FA = 'urn:okta:loa:2fa:any';
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;

/** RFC 9470 §3, with the default policy's values. */
const CHALLENGE_ACR =
  'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:okta:loa:2fa:any", max_age="300"';
const CHALLENGE_AGE =
  'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", acr_values="urn:okta:loa:2fa:any", max_age="300"';

let idp: TestIssuer;
let key: TestDpopKey;

beforeAll(async () => {
  idp = await createTestIssuer();
  key = await createDpopKey();
});

function makeApp(options: Partial<ApiAppOptions> = {}) {
  const store = options.store ?? createMemoryItemStore();
  const app = createApiApp({
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks: idp.jwks,
    logError: () => {},
    now: () => NOW_MS,
    store,
    ...options,
  });
  return { app, store };
}

/** A token for `sub` whose sign-in is `acr` at `authTime` (now by default); exp follows the real clock. */
function tokenFor(sub: string, claims: Record<string, unknown> = {}) {
  return idp.signAccessToken({ sub, acr: TWO_FA, auth_time: NOW_S - 10, ...claims });
}

const del = (app: ReturnType<typeof makeApp>['app'], id: string, headers: Record<string, string>) =>
  app.request(`/items/${encodeURIComponent(id)}`, { method: 'DELETE', headers });

describe('stepUpShortfall', () => {
  const policy = DEFAULT_STEP_UP_POLICY;
  it.each([
    ['2fa, 10 s ago', { acr: TWO_FA, auth_time: NOW_S - 10 }, undefined],
    ['phr, exactly 300 s ago', { acr: 'phr', auth_time: NOW_S - 300 }, undefined],
    ['phrh, now', { acr: 'phrh', auth_time: NOW_S }, undefined],
    ['2fa, 301 s ago', { acr: TWO_FA, auth_time: NOW_S - 301 }, 'auth_time'],
    ['2fa, no auth_time', { acr: TWO_FA }, 'auth_time'],
    ['2fa, auth_time a string', { acr: TWO_FA, auth_time: String(NOW_S) }, 'auth_time'],
    ['2fa, auth_time a minute ahead', { acr: TWO_FA, auth_time: NOW_S + 60 }, 'auth_time'],
    ['password only', { acr: 'urn:okta:loa:1fa:pwd', auth_time: NOW_S }, 'acr'],
    ['2fa only if possible', { acr: 'urn:okta:loa:2fa:any:ifpossible', auth_time: NOW_S }, 'acr'],
    ['no acr', { auth_time: NOW_S }, 'acr'],
    ['an acr list', { acr: [TWO_FA], auth_time: NOW_S }, 'acr'],
  ])('%s → %s', (_, claims, expected) => {
    expect(stepUpShortfall(claims, policy, NOW_S)).toBe(expected);
  });

  it('accepts the two-factor and phishing-resistant classes by default', () => {
    expect(MULTI_FACTOR_ACR_VALUES).toEqual([TWO_FA, 'phr', 'phrh']);
    expect(DEFAULT_STEP_UP_POLICY).toEqual({
      acceptedAcrValues: MULTI_FACTOR_ACR_VALUES,
      challengeAcrValues: [TWO_FA],
      maxAgeS: 300,
    });
  });
});

describe('resolveStepUpPolicy', () => {
  it('fills in the defaults', () => {
    expect(resolveStepUpPolicy({ maxAgeS: 60 })).toEqual({ ...DEFAULT_STEP_UP_POLICY, maxAgeS: 60 });
  });

  it.each([
    ['no accepted values', { acceptedAcrValues: [] }],
    ['a challenge value it would not accept', { challengeAcrValues: ['urn:okta:loa:1fa:any'] }],
    ['a value with a quote', { acceptedAcrValues: ['a"b'], challengeAcrValues: ['a"b'] }],
    ['a negative max age', { maxAgeS: -1 }],
    ['a fractional max age', { maxAgeS: 1.5 }],
  ])('refuses %s', (_, options) => {
    expect(() => resolveStepUpPolicy(options)).toThrow(TypeError);
    expect(() => makeApp({ deleteStepUp: options })).toThrow(TypeError);
  });
});

describe('DELETE /items/:id', () => {
  it("removes the caller's own item with 204, after a recent two-factor sign-in", async () => {
    const { app, store } = makeApp();
    const [milk, bread] = [await store.add('alice', 'milk'), await store.add('alice', 'bread')];
    const res = await del(app, milk.id, bearer(await tokenFor('alice')));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await store.list('alice')).toEqual([bread]);
    expect(await store.stats()).toEqual({ totalItems: 1, usersWithItems: 1 });
  });

  it("answers 404 for another user's item and for an unknown id, and removes nothing", async () => {
    const { app, store } = makeApp();
    const bobs = await store.add('bob', 'bike');
    const token = bearer(await tokenFor('alice'));
    for (const id of [bobs.id, 'no-such-id']) {
      const res = await del(app, id, token);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found', message: 'No such item' });
    }
    expect(await store.list('bob')).toEqual([bobs]);
  });

  it.each([
    ['a password-only sign-in', { acr: 'urn:okta:loa:1fa:pwd' }, CHALLENGE_ACR],
    ['a token without acr', { acr: undefined }, CHALLENGE_ACR],
    ['a two-factor sign-in 301 s ago', { auth_time: NOW_S - 301 }, CHALLENGE_AGE],
    ['a token without auth_time', { auth_time: undefined }, CHALLENGE_AGE],
  ])('refuses %s with 401 and the RFC 9470 challenge, removing nothing', async (_, claims, challenge) => {
    const { app, store } = makeApp();
    const milk = await store.add('alice', 'milk');
    const res = await del(app, milk.id, bearer(await tokenFor('alice', claims)));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(challenge);
    expect(await res.json()).toEqual({
      error: 'insufficient_user_authentication',
      message: challenge.includes('More recent')
        ? 'More recent authentication is required'
        : 'A different authentication level is required',
    });
    expect(await store.list('alice')).toEqual([milk]);
  });

  it('asks for the step-up before saying whether the id exists', async () => {
    const { app } = makeApp();
    const res = await del(
      app,
      'no-such-id',
      bearer(await tokenFor('alice', { acr: 'urn:okta:loa:1fa:pwd' })),
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(CHALLENGE_ACR);
  });

  it('still needs a valid token first', async () => {
    const { app } = makeApp();
    expect((await del(app, 'x', {})).status).toBe(401);
    expect((await del(app, 'x', {})).headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
  });

  it('challenges a DPoP-bound token in the DPoP scheme', async () => {
    const { app, store } = makeApp();
    const milk = await store.add('alice', 'milk');
    const token = await tokenFor('alice', { acr: 'urn:okta:loa:1fa:pwd', cnf: { jkt: key.jkt } });
    const url = `http://localhost/items/${milk.id}`;
    const proof = await key.proof({ method: 'DELETE', url, accessToken: token }, { claims: { iat: NOW_S } });
    const res = await app.request(url, { method: 'DELETE', headers: dpop(token, proof) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'DPoP error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:okta:loa:2fa:any", max_age="300", algs="ES256 RS256 PS256 EdDSA"',
    );

    const stepped = await tokenFor('alice', { cnf: { jkt: key.jkt } });
    const proof2 = await key.proof(
      { method: 'DELETE', url, accessToken: stepped },
      { claims: { iat: NOW_S } },
    );
    expect((await app.request(url, { method: 'DELETE', headers: dpop(stepped, proof2) })).status).toBe(204);
  });

  it('follows a policy given in code', async () => {
    const { app, store } = makeApp({
      deleteStepUp: { acceptedAcrValues: ['phr', 'phrh'], challengeAcrValues: ['phrh', 'phr'], maxAgeS: 60 },
    });
    const milk = await store.add('alice', 'milk');
    const twoFa = await del(app, milk.id, bearer(await tokenFor('alice')));
    expect(twoFa.status).toBe(401);
    expect(twoFa.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="phrh phr", max_age="60"',
    );
    const old = await del(
      app,
      milk.id,
      bearer(await tokenFor('alice', { acr: 'phr', auth_time: NOW_S - 61 })),
    );
    expect(old.headers.get('www-authenticate')).toContain(
      'error_description="More recent authentication is required"',
    );
    const fresh = await del(
      app,
      milk.id,
      bearer(await tokenFor('alice', { acr: 'phr', auth_time: NOW_S - 60 })),
    );
    expect(fresh.status).toBe(204);
  });

  it('asks no step-up of the other item routes', async () => {
    const { app } = makeApp();
    const token = bearer(await tokenFor('alice', { acr: undefined, auth_time: undefined }));
    expect((await app.request('/items', { headers: token })).status).toBe(200);
    const created = await app.request('/items', {
      method: 'POST',
      headers: { ...token, 'content-type': 'application/json' },
      body: '{"name":"milk"}',
    });
    expect(created.status).toBe(201);
  });
});
