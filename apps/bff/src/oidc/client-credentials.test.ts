/**
 * The parse of the token endpoint's answer to a client-credentials request, on hand-made
 * `Response`s: every answer the IdP (or whatever answers in its place) can give, and what the
 * cache is told about it. The request itself runs against the embedded IdP in
 * `auth/client-tokens.integration.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { ASSUMED_LIFETIME_S, parseClientCredentialsResponse } from './client-credentials.ts';

const ISSUER = 'https://idp.example.test/oauth2/default';
const TOKEN_ENDPOINT = `${ISSUER}/v1/token`;
const idp = { as: { issuer: ISSUER, token_endpoint: TOKEN_ENDPOINT }, client: { client_id: '0oaclient' } };
const NOW_MS = Date.UTC(2030, 0, 1);

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
const parse = (response: Response, dpopBound = false) =>
  parseClientCredentialsResponse(idp, response, { dpopBound, nowMs: () => NOW_MS });

describe('parseClientCredentialsResponse', () => {
  it('a Bearer token: its value, type, lifetime and scopes', async () => {
    const result = await parse(
      json(200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, scope: 'items:stats' }),
    );
    expect(result).toEqual({
      ok: true,
      token: { accessToken: 'at-1', tokenType: 'bearer', expiresInS: 3600, scope: 'items:stats' },
    });
  });

  it('a DPoP token, when the request carried a proof', async () => {
    const result = await parse(
      json(200, { access_token: 'at-2', token_type: 'DPoP', expires_in: 300 }),
      true,
    );
    expect(result).toMatchObject({
      ok: true,
      token: { tokenType: 'dpop', expiresInS: 300, scope: undefined },
    });
  });

  it.each([
    ['a Bearer token where DPoP was asked for', 'Bearer', true, /answered a DPoP .* with a bearer token/],
    ['a DPoP token where none was asked for', 'DPoP', false, /answered a Bearer .* with a dpop token/],
  ])('refuses %s (invalid_response)', async (_what, tokenType, dpopBound, message) => {
    const result = await parse(
      json(200, { access_token: 'at', token_type: tokenType, expires_in: 60 }),
      dpopBound,
    );
    expect(result).toMatchObject({ ok: false, failure: 'invalid_response', retryAfterS: undefined });
    expect(result.ok || (result.cause as Error).message).toMatch(message);
  });

  it(`assumes ${ASSUMED_LIFETIME_S} s when the answer states no lifetime`, async () => {
    const result = await parse(json(200, { access_token: 'at', token_type: 'Bearer' }));
    expect(result).toMatchObject({ ok: true, token: { expiresInS: ASSUMED_LIFETIME_S } });
  });

  it.each([
    ['expires_in 0', { access_token: 'at', token_type: 'Bearer', expires_in: 0 }],
    ['a negative expires_in', { access_token: 'at', token_type: 'Bearer', expires_in: -5 }],
    ['no access_token', { token_type: 'Bearer', expires_in: 60 }],
    ['an unknown token_type', { access_token: 'at', token_type: 'mac', expires_in: 60 }],
  ])('refuses a 200 with %s (invalid_response)', async (_what, body) => {
    expect(await parse(json(200, body))).toMatchObject({ ok: false, failure: 'invalid_response' });
  });

  it('refuses a 200 that is not JSON (invalid_response), without the body in the reason', async () => {
    const result = await parse(
      new Response('<html>Sign in to your proxy</html>', {
        status: 200,
        headers: { 'content-type': 'text/html' },
      }),
    );
    expect(result).toMatchObject({ ok: false, failure: 'invalid_response', retryAfterS: undefined });
    expect(result.ok || result.reason).not.toContain('proxy');
  });

  it('an OAuth error: refused, with the status, the error code and the endpoint for the log', async () => {
    const result = await parse(
      json(400, { error: 'invalid_scope', error_description: 'One or more scopes are not configured' }),
    );
    expect(result).toMatchObject({
      ok: false,
      failure: 'refused',
      retryAfterS: undefined,
      rateLimited: false,
      endpoint: TOKEN_ENDPOINT,
    });
    expect(result.ok || result.reason).toBe(
      'the IdP refused the client-credentials token request (HTTP 400, error=invalid_scope)',
    );
  });

  it('invalid_client behind a WWW-Authenticate challenge: refused', async () => {
    const result = await parse(
      json(
        401,
        { error: 'invalid_client' },
        { 'www-authenticate': 'Basic realm="okta", error="invalid_client"' },
      ),
    );
    expect(result).toMatchObject({ ok: false, failure: 'refused' });
    expect(result.ok || result.reason).toContain('HTTP 401, error=invalid_client');
  });

  it('503 with Retry-After: unavailable, with the seconds', async () => {
    const result = await parse(json(503, { error: 'temporarily_unavailable' }, { 'retry-after': '7' }));
    expect(result).toMatchObject({ ok: false, failure: 'unavailable', retryAfterS: 7, rateLimited: false });
  });

  it('an HTTP-date Retry-After counts from the injected clock', async () => {
    const at = new Date(NOW_MS + 42_000).toUTCString();
    expect(await parse(json(503, { error: 'temporarily_unavailable' }, { 'retry-after': at }))).toMatchObject(
      {
        retryAfterS: 42,
      },
    );
  });

  it('429 (Okta rate limit) without Retry-After: unavailable and rate-limited', async () => {
    const result = await parse(
      json(429, { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit' }),
    );
    expect(result).toMatchObject({
      ok: false,
      failure: 'unavailable',
      retryAfterS: undefined,
      rateLimited: true,
    });
  });

  it('a 502 page from a proxy: unavailable', async () => {
    const result = await parse(
      new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }),
    );
    expect(result).toMatchObject({ ok: false, failure: 'unavailable' });
  });
});
