/**
 * The IdP's own rate limits (Okta answers 429 with `Retry-After`), and `TRUST_PROXY`, against the
 * embedded IdP over real HTTP; msw turns the token endpoint into a rate-limited one on demand.
 */
import { HttpResponse, http as mswHttp } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type Gateway, startGateway } from '../testing/gateway.ts';
import { CookieJar, signIn } from '../testing/harness.ts';

let g: Gateway;
const msw = setupServer();
beforeAll(async () => {
  g = await startGateway();
  msw.listen({ onUnhandledRequest: 'bypass' });
});
afterEach(() => {
  msw.resetHandlers();
  g.rec.requests.length = 0;
});
afterAll(async () => {
  msw.close();
  await g?.close();
});

/** The token endpoint answers 429 (or `status`) with `Retry-After`, counting its calls. */
function rateLimitTokenEndpoint(status = 429, retryAfter = '7') {
  const calls = { count: 0 };
  msw.use(
    mswHttp.post(`${g.h.idp.issuer}/v1/token`, () => {
      calls.count++;
      return HttpResponse.json(
        { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
        { status, headers: { 'retry-after': retryAfter } },
      );
    }),
  );
  return calls;
}

describe('the IdP rate-limits (429 with Retry-After)', () => {
  it('during login: the login ends cleanly with login_error=idp_unavailable, after one token call', async () => {
    const bff = await g.h.startBff({ API_UPSTREAM_URL: g.rec.origin });
    const calls = rateLimitTokenEndpoint();
    const { callback } = await signIn(bff, new CookieJar());
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/?login_error=idp_unavailable');
    expect(calls.count).toBe(1);
  });

  it.each([
    [429, '1', '1'],
    [503, 'Wed, 21 Oct 2099 07:28:00 GMT', '300'],
  ])(
    'during a refresh (%s): 503 idp_unavailable with the Retry-After, one IdP call for 10 concurrent requests, session kept',
    async (status, given, expected) => {
      let offsetMs = 0;
      const bff = await g.h.startBff(
        { API_UPSTREAM_URL: g.rec.origin },
        { nowMs: () => Date.now() + offsetMs },
      );
      const jar = new CookieJar();
      await signIn(bff, jar);
      await g.expireAccessToken(jar);
      const calls = rateLimitTokenEndpoint(status, given);
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => g.raw('/api/things', { headers: g.apiHeaders(jar) })),
      );
      for (const res of answers) {
        expect(errorOf(res)).toEqual({ status: 503, error: 'idp_unavailable' });
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(Number(expected));
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      expect(answers[0]!.headers['retry-after']).toBe(expected);
      expect(calls.count).toBe(1);
      expect(g.rec.requests).toEqual([]);
      if (status === 429) {
        // The limit lifts; once the IdP's Retry-After has passed, the same cookie refreshes and goes through.
        msw.resetHandlers();
        offsetMs += 1_100;
        expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
      }
    },
  );
});

describe('TRUST_PROXY', () => {
  const headers = { 'x-forwarded-for': '198.51.100.66, 203.0.113.9' };

  it('off (the default): the socket address is the client; a client-sent X-Forwarded-For is ignored', async () => {
    const { bff, jar } = await g.signedIn();
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar, headers) })).status).toBe(200);
    expect(g.rec.requests[0]!.headers['x-forwarded-for']).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    const line = bff.logs.filter((l) => l.includes('"path":"/api/things"')).pop() ?? '';
    expect(line).toMatch(/"ip":"(::ffff:)?127\.0\.0\.1"/);
    expect(bff.logs.join('')).not.toContain('203.0.113.9');
  });

  it('TRUST_PROXY=1: the last hop before our proxy is the client, for the logs and the upstream', async () => {
    const { bff, jar } = await g.signedIn({ TRUST_PROXY: '1' });
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar, headers) })).status).toBe(200);
    expect(g.rec.requests[0]!.headers['x-forwarded-for']).toMatch(/^203\.0\.113\.9, (::ffff:)?127\.0\.0\.1$/);
    const line = bff.logs.filter((l) => l.includes('"path":"/api/things"')).pop() ?? '';
    expect(line).toContain('"ip":"203.0.113.9"');
    expect(JSON.stringify(g.rec.requests[0]!.headers)).not.toContain('198.51.100.66');
    const user = bff.logs.filter((l) => l.includes('"path":"/auth/user"'));
    expect(user.length === 0 || user.every((l) => !l.includes('198.51.100.66'))).toBe(true);
  });

  it('TRUST_PROXY=2 believes one more hop', async () => {
    const { jar } = await g.signedIn({ TRUST_PROXY: '2' });
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar, headers) })).status).toBe(200);
    expect(g.rec.requests[0]!.headers['x-forwarded-for']).toMatch(
      /^198\.51\.100\.66, 203\.0\.113\.9, (::ffff:)?127\.0\.0\.1$/,
    );
  });
});
