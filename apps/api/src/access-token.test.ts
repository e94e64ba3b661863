import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createAccessTokenVerifier,
  discoveryUrl,
  parseAuthorization,
  parseBearerAuthorization,
  parseDiscoveryResponse,
} from './access-token.ts';
import { ApiError } from './errors.ts';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from './test-tokens.ts';

const JWKS_URI = 'https://idp.example.test/oauth2/default/v1/keys';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ApiError ? err.code : 'not an ApiError';
  }
  return undefined;
}

describe('parseBearerAuthorization', () => {
  it('returns the token, whatever the scheme case and spacing', () => {
    expect(parseBearerAuthorization('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(parseBearerAuthorization('bearer   abc.def-_~+/=')).toBe('abc.def-_~+/=');
  });

  it.each([undefined, '', 'Basic dXNlcjpwYXNz', 'Bearerabc', 'Token abc'])(
    'treats %j as no bearer credentials',
    (header) => expect(codeOf(() => parseBearerAuthorization(header))).toBe('unauthenticated'),
  );

  it.each(['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Bearer =abc', 'Bearer a\\b'])(
    'treats %j as an invalid token',
    (header) => expect(codeOf(() => parseBearerAuthorization(header))).toBe('invalid_token'),
  );
});

describe('parseAuthorization', () => {
  it('returns the scheme and token of Bearer and DPoP credentials, whatever the case', () => {
    expect(parseAuthorization('Bearer abc.def.ghi')).toEqual({ scheme: 'Bearer', token: 'abc.def.ghi' });
    expect(parseAuthorization('DPoP abc.def.ghi')).toEqual({ scheme: 'DPoP', token: 'abc.def.ghi' });
    expect(parseAuthorization('dpop   abc')).toEqual({ scheme: 'DPoP', token: 'abc' });
  });

  it.each([undefined, '', 'Basic dXNlcjpwYXNz', 'DPoPabc', 'Token abc'])(
    'treats %j as no credentials',
    (header) => expect(codeOf(() => parseAuthorization(header))).toBe('unauthenticated'),
  );

  it('challenges a malformed DPoP token with the DPoP scheme', () => {
    try {
      parseAuthorization('DPoP a b');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'invalid_token', scheme: 'DPoP' });
    }
  });
});

describe('parseDiscoveryResponse', () => {
  const metadata = (body: unknown, status = 200) =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });

  it('returns jwks_uri when the document names our issuer', async () => {
    const url = await parseDiscoveryResponse(
      TEST_ISSUER,
      metadata({ issuer: TEST_ISSUER, jwks_uri: JWKS_URI }),
    );
    expect(url.href).toBe(JWKS_URI);
  });

  it('allows an http jwks_uri on a loopback host', async () => {
    const issuer = 'http://localhost:9000/oauth2/default';
    const url = await parseDiscoveryResponse(issuer, metadata({ issuer, jwks_uri: `${issuer}/v1/keys` }));
    expect(url.protocol).toBe('http:');
  });

  it.each([
    ['a non-200 answer', metadata({ issuer: TEST_ISSUER, jwks_uri: JWKS_URI }, 404)],
    ['a body that is not JSON', metadata('<html>')],
    ['a JSON non-object', metadata('null')],
    ['another issuer', metadata({ issuer: 'https://evil.example', jwks_uri: JWKS_URI })],
    ['no jwks_uri', metadata({ issuer: TEST_ISSUER })],
    ['a jwks_uri that is not a URL', metadata({ issuer: TEST_ISSUER, jwks_uri: 'keys' })],
    [
      'an http jwks_uri off this machine',
      metadata({ issuer: TEST_ISSUER, jwks_uri: 'http://idp.example.test/keys' }),
    ],
  ])('refuses %s as idp_unavailable', async (_, response) => {
    await expect(parseDiscoveryResponse(TEST_ISSUER, response)).rejects.toMatchObject({
      code: 'idp_unavailable',
      status: 503,
    });
  });
});

describe('createAccessTokenVerifier with discovery', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer();
  });

  /** A fake IdP at the network boundary: discovery document and key set, counting calls. */
  function fakeIdp(options: { failDiscovery?: number } = {}) {
    let discoveryFailures = options.failDiscovery ?? 0;
    const fetchImpl = vi.fn(async (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === discoveryUrl(TEST_ISSUER).href) {
        if (discoveryFailures > 0) {
          discoveryFailures -= 1;
          throw new TypeError('fetch failed');
        }
        return Response.json({ issuer: TEST_ISSUER, jwks_uri: JWKS_URI });
      }
      if (url === JWKS_URI) return Response.json(idp.jwkSet);
      return new Response('not found', { status: 404 });
    });
    return fetchImpl;
  }

  it('discovers the key set once and verifies tokens with it', async () => {
    const fetchImpl = fakeIdp();
    const verify = createAccessTokenVerifier({
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      fetch: fetchImpl,
    });
    expect(fetchImpl).not.toHaveBeenCalled(); // lazy: nothing fetched at construction
    const claims = await verify(await idp.signAccessToken({ sub: 'carol' }));
    expect(claims.sub).toBe('carol');
    await verify(await idp.signAccessToken({ sub: 'dave' }));
    const urls = fetchImpl.mock.calls.map(([input]) => String(input));
    expect(urls.filter((u) => u.endsWith('/.well-known/openid-configuration'))).toHaveLength(1);
    expect(urls.filter((u) => u === JWKS_URI)).toHaveLength(1);
  });

  it('does not cache a failed discovery: the next request retries', async () => {
    const fetchImpl = fakeIdp({ failDiscovery: 1 });
    const verify = createAccessTokenVerifier({
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      fetch: fetchImpl,
    });
    const token = await idp.signAccessToken();
    await expect(verify(token)).rejects.toMatchObject({ code: 'idp_unavailable', status: 503 });
    await expect(verify(token)).resolves.toMatchObject({ sub: 'alice@example.com' });
  });

  it('refuses construction without issuer or audience', () => {
    expect(() => createAccessTokenVerifier({ issuer: '', audience: TEST_AUDIENCE })).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ issuer: TEST_ISSUER, audience: '' })).toThrow(TypeError);
  });
});
