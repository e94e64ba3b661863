import {
  createDpopCaseKeys,
  DPOP_CASE_NOW_MS,
  DPOP_PROOF_CASES,
  type DpopCaseKeys,
  type DpopCaseOutcome,
  type DpopCaseRequest,
} from '@okta-bff/dev-idp/testing';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiAppOptions, createApiApp } from './app.ts';
import { DPOP_NONCE_STEP_S } from './dpop-nonce.ts';
import { createDpopProofVerifier, type DpopProofVerifier } from './dpop-proof.ts';
import { ApiError } from './errors.ts';
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

const ITEMS = 'http://localhost/items';
const ALGS = 'algs="ES256 RS256 PS256 EdDSA"';

let idp: TestIssuer;
let key: TestDpopKey;
let otherKey: TestDpopKey;
/** Bound to `key`. */
let boundToken: string;
/** Also alice's, unbound: to look at her items after a refusal. */
let bearerToken: string;

beforeAll(async () => {
  idp = await createTestIssuer();
  key = await createDpopKey('ES256');
  otherKey = await createDpopKey('ES256');
  boundToken = await idp.signAccessToken({ sub: 'alice@example.com', cnf: { jkt: key.jkt } });
  bearerToken = await idp.signAccessToken({ sub: 'alice@example.com' });
});

type App = ReturnType<typeof createApiApp>;

function makeApp(options: Partial<ApiAppOptions> = {}): App {
  return createApiApp({
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwks: idp.jwks,
    logError: () => {},
    ...options,
  });
}

const now = () => Math.floor(Date.now() / 1000);

/** Asserts a 401 with `code` in the body and a DPoP challenge naming it; returns the message. */
async function expectDpopRefusal(res: Response, code: string): Promise<string> {
  expect(res.status).toBe(401);
  const body = await res.json();
  expect(body.error).toBe(code);
  expect(res.headers.get('www-authenticate')).toBe(
    `DPoP error="${code}", error_description="${body.message}", ${ALGS}`,
  );
  return body.message;
}

/** Alice's items, read with her unbound token: proves a refused POST stored nothing. */
async function itemsOf(app: App): Promise<unknown> {
  return (await app.request(ITEMS, { headers: bearer(bearerToken) })).json();
}

async function postItem(app: App, headers: Record<string, string>): Promise<Response> {
  return app.request(ITEMS, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: '{"name":"milk"}',
  });
}

/** An unsigned JWT (`alg: none`), with the header members a proof would have. */
function unsignedProof(payload: Record<string, unknown>): string {
  const header = { alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk };
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

describe('the DPoP proof verifier (the cases shared with the dev IdP)', () => {
  let caseKeys: DpopCaseKeys;
  beforeAll(async () => {
    caseKeys = await createDpopCaseKeys();
  });

  /** Accepted, or refused as the API refuses a proof: 401 `invalid_dpop_proof`, DPoP scheme. */
  async function outcome(verifier: DpopProofVerifier, request: DpopCaseRequest): Promise<DpopCaseOutcome> {
    try {
      await verifier.verify(request);
      return 'accepted';
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ code: 'invalid_dpop_proof', status: 401, scheme: 'DPoP' });
      return 'refused';
    }
  }

  it.each(DPOP_PROOF_CASES)('%s', async (_, dpopCase) => {
    const verifier = createDpopProofVerifier({ now: () => DPOP_CASE_NOW_MS });
    const steps = await dpopCase.steps(caseKeys);
    const outcomes: DpopCaseOutcome[] = [];
    for (const step of steps) outcomes.push(await outcome(verifier, step.request));
    expect(outcomes).toEqual(steps.map((step) => step.expected));
  });
});

describe('DPoP-bound tokens: accepted', () => {
  it('accepts a GET and a POST, each with a proof for its method and URL', async () => {
    const app = makeApp();
    const post = await postItem(
      app,
      dpop(boundToken, await key.proof({ method: 'POST', url: ITEMS, accessToken: boundToken })),
    );
    expect(post.status).toBe(201);
    const get = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof({ method: 'GET', url: ITEMS, accessToken: boundToken })),
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ items: [expect.objectContaining({ name: 'milk' })] });
    expect(get.headers.get('dpop-nonce')).toBeNull(); // nonces are off by default
  });

  it.each(['RS256', 'PS256', 'EdDSA'] as const)('accepts a proof signed with %s', async (alg) => {
    const k = await createDpopKey(alg);
    const token = await idp.signAccessToken({ cnf: { jkt: k.jkt } });
    const res = await makeApp().request(ITEMS, {
      headers: dpop(token, await k.proof({ method: 'GET', url: ITEMS, accessToken: token })),
    });
    expect(res.status).toBe(200);
  });

  it('accepts the scheme in any case', async () => {
    const proof = await key.proof({ method: 'GET', url: ITEMS, accessToken: boundToken });
    const res = await makeApp().request(ITEMS, {
      headers: { authorization: `dpop ${boundToken}`, DPoP: proof },
    });
    expect(res.status).toBe(200);
  });

  it('ignores the query in the request and compares htu after normalisation', async () => {
    const app = makeApp();
    const htu = 'HTTP://LocalHost:80/%69tems'; // = http://localhost/items (RFC 3986 §6.2.2, §6.2.3)
    const res = await app.request(`${ITEMS}?sort=name#top`, {
      headers: dpop(
        boundToken,
        await key.proof({ method: 'GET', url: ITEMS, accessToken: boundToken }, { claims: { htu } }),
      ),
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['30 s in the future (clock skew)', 30],
    ['290 s old', -290],
  ])('accepts a proof issued %s', async (_, offset) => {
    const proof = await key.proof(
      { method: 'GET', url: ITEMS, accessToken: boundToken },
      { claims: { iat: now() + offset } },
    );
    expect((await makeApp().request(ITEMS, { headers: dpop(boundToken, proof) })).status).toBe(200);
  });
});

describe('DPoP-bound tokens: refused', () => {
  const get = { method: 'GET', url: ITEMS };
  const post = { method: 'POST', url: ITEMS };

  it('refuses a replayed proof (same jti)', async () => {
    const app = makeApp();
    const proof = await key.proof({ ...post, accessToken: boundToken });
    expect((await postItem(app, dpop(boundToken, proof))).status).toBe(201);
    const again = await postItem(app, dpop(boundToken, proof));
    expect(await expectDpopRefusal(again, 'invalid_dpop_proof')).toMatch('already used');
    expect(await itemsOf(app)).toEqual({ items: [expect.objectContaining({ name: 'milk' })] });
  });

  it('refuses a new proof that reuses a jti', async () => {
    const app = makeApp();
    const claims = { jti: 'same-jti-twice' };
    const first = await key.proof({ ...get, accessToken: boundToken }, { claims });
    expect((await app.request(ITEMS, { headers: dpop(boundToken, first) })).status).toBe(200);
    const second = await key.proof(
      { ...get, accessToken: boundToken },
      { claims: { ...claims, iat: now() - 1 } },
    );
    const res = await app.request(ITEMS, { headers: dpop(boundToken, second) });
    expect(await expectDpopRefusal(res, 'invalid_dpop_proof')).toMatch('already used');
  });

  // Each case: what to send with POST /items (or a bare request), the error code, and the reason.
  type Headers = () => Promise<Record<string, string>>;
  const proofWith = (overrides: Parameters<TestDpopKey['proof']>[1]) => async () =>
    dpop(boundToken, await key.proof({ ...post, accessToken: boundToken }, overrides));

  const refused: [string, Headers, string, RegExp][] = [
    [
      'a proof for another URL (path)',
      proofWith({ claims: { htu: 'http://localhost/echo' } }),
      'invalid_dpop_proof',
      /another URL/,
    ],
    [
      'a proof for another URL (host)',
      proofWith({ claims: { htu: 'http://127.0.0.1:8001/items' } }),
      'invalid_dpop_proof',
      /another URL/,
    ],
    [
      'a proof for another URL (scheme)',
      proofWith({ claims: { htu: 'https://localhost/items' } }),
      'invalid_dpop_proof',
      /another URL/,
    ],
    [
      'an htu that is not a URL',
      proofWith({ claims: { htu: '/items' } }),
      'invalid_dpop_proof',
      /another URL/,
    ],
    ['a proof for another method', proofWith({ claims: { htm: 'GET' } }), 'invalid_dpop_proof', /method/],
    ['a lower-case htm', proofWith({ claims: { htm: 'post' } }), 'invalid_dpop_proof', /method/],
    [
      'no proof',
      async () => ({ authorization: `DPoP ${boundToken}` }),
      'invalid_dpop_proof',
      /needs a DPoP proof/,
    ],
    [
      'two proofs',
      async () => {
        const one = await key.proof({ ...post, accessToken: boundToken });
        const two = await key.proof({ ...post, accessToken: boundToken });
        return { authorization: `DPoP ${boundToken}`, dpop: `${one}, ${two}` };
      },
      'invalid_dpop_proof',
      /exactly one/,
    ],
    [
      'a proof that is not a JWT',
      async () => dpop(boundToken, 'not-a-jwt'),
      'invalid_dpop_proof',
      /malformed/,
    ],
    [
      'a proof signed by another key (thumbprint mismatch)',
      async () => dpop(boundToken, await otherKey.proof({ ...post, accessToken: boundToken })),
      'invalid_dpop_proof',
      /not the key the access token is bound to/,
    ],
    [
      'a proof whose jwk header is not the key that signed it',
      async () =>
        dpop(boundToken, await key.proof({ ...post, accessToken: boundToken }, { key: otherKey.privateKey })),
      'invalid_dpop_proof',
      /signature/,
    ],
    [
      'a proof for another access token (ath)',
      proofWith({ claims: { ath: base64url.encode(new Uint8Array(32)) } }),
      'invalid_dpop_proof',
      /another access token/,
    ],
    ['a proof without ath', proofWith({ claims: { ath: undefined } }), 'invalid_dpop_proof', /claim ath/],
    ['a proof without jti', proofWith({ claims: { jti: undefined } }), 'invalid_dpop_proof', /claim jti/],
    ['a proof with an empty jti', proofWith({ claims: { jti: '' } }), 'invalid_dpop_proof', /claim jti/],
    ['typ JWT', proofWith({ header: { typ: 'JWT' } }), 'invalid_dpop_proof', /typ must be dpop\+jwt/],
    [
      'typ application/dpop+jwt',
      proofWith({ header: { typ: 'application/dpop+jwt' } }),
      'invalid_dpop_proof',
      /typ must be dpop\+jwt/,
    ],
    ['no typ', proofWith({ header: { typ: undefined } }), 'invalid_dpop_proof', /typ must be dpop\+jwt/],
    ['no jwk header', proofWith({ header: { jwk: undefined } }), 'invalid_dpop_proof', /no jwk/],
    [
      'alg none',
      async () =>
        dpop(
          boundToken,
          unsignedProof({
            jti: 'none-1',
            htm: 'POST',
            htu: ITEMS,
            iat: now(),
            ath: 'x',
          }),
        ),
      'invalid_dpop_proof',
      /refused algorithm/,
    ],
    [
      'HS256',
      async () => {
        const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!');
        const proof = await new SignJWT({ jti: 'hs-1', htm: 'POST', htu: ITEMS, iat: now() })
          .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
          .sign(secret);
        return dpop(boundToken, proof);
      },
      'invalid_dpop_proof',
      /refused algorithm/,
    ],
    [
      'a private key in the jwk header',
      async () => {
        const privateJwk = await exportJWK(key.privateKey);
        return dpop(
          boundToken,
          await key.proof({ ...post, accessToken: boundToken }, { header: { jwk: privateJwk } }),
        );
      },
      'invalid_dpop_proof',
      /must be a public key/,
    ],
    [
      'an iat 301 s old',
      () => proofWith({ claims: { iat: now() - 301 } })(),
      'invalid_dpop_proof',
      /too old/,
    ],
    [
      'an iat 120 s in the future',
      () => proofWith({ claims: { iat: now() + 120 } })(),
      'invalid_dpop_proof',
      /in the future/,
    ],
    [
      'an iat that is not a number',
      proofWith({ claims: { iat: 'now' as unknown as number } }),
      'invalid_dpop_proof',
      /claim iat/,
    ],
    [
      'an expired proof (exp)',
      () => proofWith({ claims: { exp: now() - 120 } })(),
      'invalid_dpop_proof',
      /expired/,
    ],
  ];

  it.each(refused)(
    'refuses %s: 401 with a DPoP challenge, nothing stored',
    async (_, headers, code, reason) => {
      const app = makeApp();
      const res = await postItem(app, await headers());
      expect(await expectDpopRefusal(res, code)).toMatch(reason);
      expect(await itemsOf(app)).toEqual({ items: [] });
    },
  );

  it('refuses a sound key with an algorithm not on the list (ES384)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const proof = await new SignJWT({ jti: 'es384', htm: 'GET', htu: ITEMS, iat: now() })
      .setProtectedHeader({ alg: 'ES384', typ: 'dpop+jwt', jwk })
      .sign(privateKey);
    const res = await makeApp().request(ITEMS, { headers: dpop(boundToken, proof) });
    expect(await expectDpopRefusal(res, 'invalid_dpop_proof')).toMatch('refused algorithm');
  });

  it('refuses the DPoP-bound token sent as Bearer (RFC 9449 §7.2)', async () => {
    const app = makeApp();
    const proof = await key.proof({ ...post, accessToken: boundToken });
    const res = await postItem(app, { ...bearer(boundToken), dpop: proof });
    expect(await expectDpopRefusal(res, 'invalid_token')).toMatch('DPoP-bound');
    expect(await itemsOf(app)).toEqual({ items: [] });
  });

  it('refuses an unbound token sent with the DPoP scheme', async () => {
    const app = makeApp();
    const proof = await key.proof({ ...post, accessToken: bearerToken });
    const res = await postItem(app, dpop(bearerToken, proof));
    expect(await expectDpopRefusal(res, 'invalid_token')).toMatch('not DPoP-bound');
    expect(await itemsOf(app)).toEqual({ items: [] });
  });

  it('answers a bad token under the DPoP scheme with a DPoP challenge', async () => {
    const expired = await idp.signAccessToken({ cnf: { jkt: key.jkt }, iat: now() - 600, exp: now() - 60 });
    const proof = await key.proof({ ...get, accessToken: expired });
    const res = await makeApp().request(ITEMS, { headers: dpop(expired, proof) });
    expect(await expectDpopRefusal(res, 'invalid_token')).toMatch('expired');
  });

  it.each([
    ['a certificate binding (RFC 8705)', { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }],
    ['a malformed jkt', { jkt: 'short' }],
    ['a cnf that is not an object', 'bound'],
  ])('refuses a token with %s, whatever the scheme', async (_, cnf) => {
    const token = await idp.signAccessToken({ cnf });
    const res = await makeApp().request(ITEMS, { headers: bearer(token) });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error).toBe('invalid_token');
    expect(body.message).toMatch('cannot check');
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="${body.message}"`,
    );
  });

  it('keeps accepting unbound bearer tokens as before', async () => {
    const res = await makeApp({ dpopNonce: true }).request(ITEMS, { headers: bearer(bearerToken) });
    expect(res.status).toBe(200);
    expect(res.headers.get('dpop-nonce')).toBeNull();
  });
});

describe('htu and the public URL', () => {
  const API = 'http://127.0.0.1:8001';

  it('without publicUrl, expects the URL the request was sent to (Host header)', async () => {
    const url = `${API}/items`;
    const res = await makeApp().request(url, {
      headers: dpop(boundToken, await key.proof({ method: 'GET', url, accessToken: boundToken })),
    });
    expect(res.status).toBe(200);
  });

  it('with publicUrl, expects it and ignores the Host header', async () => {
    const app = makeApp({ publicUrl: API });
    const proofFor = (url: string) => key.proof({ method: 'GET', url, accessToken: boundToken });
    // The BFF's call: the proof names the URL it called.
    const ok = await app.request(`${API}/items`, {
      headers: dpop(boundToken, await proofFor(`${API}/items`)),
    });
    expect(ok.status).toBe(200);
    // A request that says it was sent elsewhere, with a proof for that elsewhere: refused.
    const spoofed = await app.request('http://evil.example/items', {
      headers: dpop(boundToken, await proofFor('http://evil.example/items')),
    });
    expect(await expectDpopRefusal(spoofed, 'invalid_dpop_proof')).toMatch('another URL');
  });

  it('with a publicUrl path prefix (a gateway that strips it), expects prefix plus path', async () => {
    const app = makeApp({ publicUrl: 'https://gw.example/items-api/' });
    const ok = await app.request(ITEMS, {
      headers: dpop(
        boundToken,
        await key.proof({
          method: 'GET',
          url: 'https://gw.example/items-api/items',
          accessToken: boundToken,
        }),
      ),
    });
    expect(ok.status).toBe(200);
    const direct = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof({ method: 'GET', url: ITEMS, accessToken: boundToken })),
    });
    expect(await expectDpopRefusal(direct, 'invalid_dpop_proof')).toMatch('another URL');
  });

  it.each(['not a url', 'ftp://api.example', 'https://api.example/?q=1'])(
    'refuses publicUrl %j at construction',
    (publicUrl) => expect(() => makeApp({ publicUrl })).toThrow(TypeError),
  );
});

describe('DPoP server nonces (API_DPOP_NONCE)', () => {
  const target = () => ({ method: 'GET', url: ITEMS, accessToken: boundToken });

  it('asks once for a nonce, then accepts the retry that carries it', async () => {
    const app = makeApp({ dpopNonce: true });
    const first = await app.request(ITEMS, { headers: dpop(boundToken, await key.proof(target())) });
    expect(await expectDpopRefusal(first, 'use_dpop_nonce')).toMatch('nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/); // RFC 9449 §8.1 NQCHAR
    expect(await itemsOf(app)).toEqual({ items: [] });

    const retry = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target(), { claims: { nonce: nonce ?? '' } })),
    });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('dpop-nonce')).toBe(nonce); // the current nonce rides on answers (§8.2)
  });

  it('does not use up the jti of a proof refused for its nonce', async () => {
    const app = makeApp({ dpopNonce: true });
    const first = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target(), { claims: { jti: 'retried' } })),
    });
    expect(first.status).toBe(401);
    const nonce = first.headers.get('dpop-nonce') ?? '';
    const retry = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target(), { claims: { jti: 'retried', nonce } })),
    });
    expect(retry.status).toBe(200);
  });

  it.each([
    ['a made-up nonce', 'made-up-nonce'],
    [
      'a nonce in our format with a forged MAC',
      `${Math.floor(Date.now() / 1000 / DPOP_NONCE_STEP_S).toString(36)}.AAAAAAAAAAAAAAAAAAAAAA`,
    ],
    ['a non-string nonce', 42],
  ])('answers %s with use_dpop_nonce and a fresh nonce', async (_, nonce) => {
    const app = makeApp({ dpopNonce: true });
    const res = await app.request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target(), { claims: { nonce } })),
    });
    await expectDpopRefusal(res, 'use_dpop_nonce');
    expect(res.headers.get('dpop-nonce')).toBeTruthy();
    expect(res.headers.get('dpop-nonce')).not.toBe(nonce);
  });

  it('refuses a nonce from another app instance', async () => {
    const other = await makeApp({ dpopNonce: true }).request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target())),
    });
    const nonce = other.headers.get('dpop-nonce') ?? '';
    const res = await makeApp({ dpopNonce: true }).request(ITEMS, {
      headers: dpop(boundToken, await key.proof(target(), { claims: { nonce } })),
    });
    await expectDpopRefusal(res, 'use_dpop_nonce');
  });

  it('keeps a nonce valid across one rotation, and refuses it after two', async () => {
    let clock = Date.now();
    const app = makeApp({ dpopNonce: true, now: () => clock });
    const proofAt = (nonce?: string) =>
      key.proof(target(), { claims: { iat: Math.floor(clock / 1000), ...(nonce ? { nonce } : {}) } });
    const first = await app.request(ITEMS, { headers: dpop(boundToken, await proofAt()) });
    const nonce = first.headers.get('dpop-nonce') ?? '';

    clock += DPOP_NONCE_STEP_S * 1000;
    const later = await app.request(ITEMS, { headers: dpop(boundToken, await proofAt(nonce)) });
    expect(later.status).toBe(200);
    expect(later.headers.get('dpop-nonce')).not.toBe(nonce); // the new one, to switch to

    clock += DPOP_NONCE_STEP_S * 1000;
    const stale = await app.request(ITEMS, { headers: dpop(boundToken, await proofAt(nonce)) });
    await expectDpopRefusal(stale, 'use_dpop_nonce');
  });

  it('still checks everything else first: a bad proof is invalid_dpop_proof, not a nonce request', async () => {
    const app = makeApp({ dpopNonce: true });
    const res = await app.request(ITEMS, {
      headers: dpop(boundToken, await otherKey.proof(target())),
    });
    await expectDpopRefusal(res, 'invalid_dpop_proof');
    expect(res.headers.get('dpop-nonce')).toBeTruthy();
  });
});

describe('the challenge without credentials', () => {
  it('offers both schemes, DPoP with the accepted algorithms (RFC 9449 §7.1)', async () => {
    const res = await makeApp().request(ITEMS);
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe('unauthenticated');
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="api", DPoP ${ALGS}`);
  });
});
