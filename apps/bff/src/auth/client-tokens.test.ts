/**
 * The client-token cache facing faults a real IdP does not produce on demand: 503 and 429 with or
 * without `Retry-After`, an answer that is not JSON, no answer in time, and a refusal of a client
 * that was getting tokens. msw answers at the network boundary (under the IdP's own `fetch`, so
 * the metrics and failure classification are the product's); the clock is injected. The rest is
 * tested against the embedded IdP in `client-tokens.integration.test.ts`.
 */
import { createLocalJWKSet } from 'jose';
import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventLog } from '../logger.ts';
import { createClientAuthentication } from '../oidc/client-auth.ts';
import type { Idp } from '../oidc/idp.ts';
import { instrumentedFetch } from '../ops/instrumented-fetch.ts';
import { type IdpCallKind, type IdpOutcome, type Metrics, NO_METRICS } from '../ops/metrics.ts';
import { TRACING_OFF } from '../ops/tracing.ts';
import {
  type ClientTokens,
  createClientTokens,
  FAILURE_BACKOFF_MS,
  REUSE_MARGIN_S,
} from './client-tokens.ts';

const ISSUER = 'https://idp.example.test/oauth2/default';
const TOKEN_ENDPOINT = `${ISSUER}/v1/token`;
const CLIENT_SECRET = 'client-tokens-unit-secret';
const STATS = ['items:stats'];
const AUDIT = ['items:audit'];

const msw = setupServer();
beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterEach(() => msw.resetHandlers());
afterAll(() => msw.close());

interface Bed {
  readonly tokens: ClientTokens;
  readonly clock: { ms: number };
  readonly lines: { event: string; details: Record<string, unknown>; level: string }[];
  readonly idpCalls: [IdpCallKind, IdpOutcome][];
}

let requests: number;
let answer: () => Response | Promise<Response>;
beforeEach(() => {
  requests = 0;
  answer = () => tokenAnswer();
  msw.use(
    http.post(TOKEN_ENDPOINT, () => {
      requests++;
      return answer();
    }),
  );
});

let serial = 0;
const tokenAnswer = (extra: Record<string, unknown> = {}) =>
  HttpResponse.json(
    { access_token: `at-${++serial}`, token_type: 'Bearer', expires_in: 3600, ...extra },
    { headers: { 'cache-control': 'no-store' } },
  );
const oauthError = (status: number, error: string, headers: Record<string, string> = {}) =>
  HttpResponse.json({ error }, { status, headers });

async function bed({ timeoutMs = 5_000, loaded = true } = {}): Promise<Bed> {
  const as = { issuer: ISSUER, token_endpoint: TOKEN_ENDPOINT };
  const idpCalls: [IdpCallKind, IdpOutcome][] = [];
  const metrics: Metrics = {
    ...NO_METRICS,
    observeIdp: (kind, outcome) => void idpCalls.push([kind, outcome]),
  };
  const idp: Idp = {
    as,
    client: { client_id: '0oaunittestclient000' },
    clientAuth: await createClientAuthentication(
      { clientAuthMethod: 'client_secret_basic', clientSecret: CLIENT_SECRET, clientPrivateKey: undefined },
      as,
    ),
    usePar: false,
    useDpop: false,
    jwks: createLocalJWKSet({ keys: [] }),
    redirectUri: 'https://app.example.test/authorization-code/callback',
    timeoutMs,
    allowHttp: false,
    fetch: instrumentedFetch(metrics, TRACING_OFF, (url) => (url === TOKEN_ENDPOINT ? 'token' : 'other')),
  };
  const lines: Bed['lines'] = [];
  const log: EventLog = (event, details, level = 'info') => void lines.push({ event, details, level });
  const clock = { ms: Date.UTC(2030, 0, 1) };
  const tokens = createClientTokens({
    idp: { current: () => (loaded ? idp : undefined) },
    log,
    metrics,
    nowMs: () => clock.ms,
  });
  return { tokens, clock, lines, idpCalls };
}

describe('the IdP says "later"', () => {
  it('503 with Retry-After: 7 → retryAfterS 7, and no request to the token endpoint for any scopes until then', async () => {
    const b = await bed();
    answer = () => oauthError(503, 'temporarily_unavailable', { 'retry-after': '7' });
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: 7 });
    expect(requests).toBe(1);
    expect(b.lines).toMatchObject([
      {
        event: 'client_token_failed',
        level: 'warn',
        details: { scopes: 'items:stats', failure: 'unavailable', endpoint: TOKEN_ENDPOINT, retryAfterS: 7 },
      },
    ]);
    expect(b.lines[0]?.details.reason).toBe(
      // oauth4webapi reads an OAuth error body on a 4xx only: a 5xx is its status.
      'the IdP could not be reached for the client-credentials token request (HTTP 503)',
    );
    expect(b.idpCalls).toEqual([['token', '5xx']]);

    b.clock.ms += 3_000;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: 4 });
    expect(await b.tokens.get(AUDIT)).toMatchObject({ ok: false, retryAfterS: 4 });
    expect(requests).toBe(1);
    expect(b.lines).toHaveLength(1);

    answer = () => tokenAnswer();
    b.clock.ms += 4_000;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: true });
    expect(requests).toBe(2);
  });

  it('429 without Retry-After: backs off for 5 s, as the refresh path does', async () => {
    const b = await bed();
    answer = () => HttpResponse.json({ errorCode: 'E0000047' }, { status: 429 });
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: undefined });
    b.clock.ms += 4_999;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: 1 });
    expect(requests).toBe(1);
    answer = () => tokenAnswer();
    b.clock.ms += 1;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: true });
    expect(requests).toBe(2);
  });

  it('a token not yet expired is still handed out while the IdP cannot renew it', async () => {
    const b = await bed();
    const first = await b.tokens.get(STATS);
    if (!first.ok) throw new Error('no token');
    answer = () => oauthError(503, 'temporarily_unavailable', { 'retry-after': '30' });
    b.clock.ms = first.token.accessTokenExpiresAt * 1000 - REUSE_MARGIN_S * 1000;
    expect(await b.tokens.get(STATS)).toBe(first);
    b.clock.ms += 10_000;
    expect(await b.tokens.get(STATS)).toBe(first);
    expect(requests).toBe(2);
  });

  it('a refusal while renewing drops the token, even though it has not expired', async () => {
    const b = await bed();
    const first = await b.tokens.get(STATS);
    if (!first.ok) throw new Error('no token');
    answer = () => oauthError(401, 'invalid_client');
    b.clock.ms = first.token.accessTokenExpiresAt * 1000 - REUSE_MARGIN_S * 1000;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(b.lines).toMatchObject([{ level: 'warn', details: { failure: 'refused' } }]);
    expect(JSON.stringify(b.lines)).not.toContain(CLIENT_SECRET);
  });
});

describe('answers that are not answers', () => {
  it('a 200 that is not JSON: ok false without retryAfterS, one warn line; asked again only after the back-off', async () => {
    const b = await bed();
    answer = () =>
      new HttpResponse('<html>Please sign in to the proxy</html>', {
        headers: { 'content-type': 'text/html' },
      });
    const failed = await b.tokens.get(STATS);
    expect(failed).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(b.lines).toMatchObject([
      { level: 'warn', details: { failure: 'invalid_response', endpoint: TOKEN_ENDPOINT } },
    ]);
    expect(JSON.stringify(b.lines)).not.toContain('proxy');

    expect(await b.tokens.get(STATS)).toBe(failed);
    b.clock.ms += FAILURE_BACKOFF_MS - 1;
    expect(await b.tokens.get(STATS)).toBe(failed);
    expect(requests).toBe(1);
    answer = () => tokenAnswer();
    b.clock.ms += 1;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: true });
    expect(requests).toBe(2);
    expect(b.lines).toHaveLength(1);
  });

  it('no answer within IDP_TIMEOUT_MS: ok false, measured as a token timeout, logged once for all waiting callers', async () => {
    const b = await bed({ timeoutMs: 50 });
    answer = async () => {
      await delay('infinite');
      return tokenAnswer();
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => b.tokens.get(STATS)));
    for (const result of results) expect(result).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(requests).toBe(1);
    expect(b.idpCalls).toEqual([['token', 'timeout']]);
    expect(b.lines).toMatchObject([
      {
        level: 'warn',
        details: { failure: 'unavailable', cause: expect.objectContaining({ name: 'TimeoutError' }) },
      },
    ]);
  });

  it('before discovery: ok false, no request, no throw', async () => {
    const b = await bed({ loaded: false });
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(requests).toBe(0);
  });

  it('an answer without expires_in: assumed to last 300 s, so renewed 60 s before that', async () => {
    const b = await bed();
    answer = () => tokenAnswer({ expires_in: undefined });
    const first = await b.tokens.get(STATS);
    if (!first.ok) throw new Error('no token');
    expect(first.token.accessTokenExpiresAt * 1000).toBe(b.clock.ms + 300_000);
    b.clock.ms += 240_000 - 1;
    expect(await b.tokens.get(STATS)).toBe(first);
    b.clock.ms += 1;
    expect(await b.tokens.get(STATS)).not.toBe(first);
    expect(requests).toBe(2);
  });
});
