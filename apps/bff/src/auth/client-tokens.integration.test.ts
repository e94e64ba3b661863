/**
 * Client-credentials tokens for `token: "client"` routes against the embedded IdP over real HTTP:
 * each client authentication method, DPoP (with the token endpoint's nonce, as Okta asks for
 * one), single flight, reuse and renewal on an injected clock, scope sets, refusals, and an IdP
 * that goes away. Requests are counted at the IdP (its records) and at the network boundary (a
 * counting wrapper around the IdP's `fetch`).
 */
import { Writable } from 'node:stream';
import {
  CUSTOM_SCOPES,
  createDevClientFor,
  createPostSecretDevClientFor,
  createSecureDevClientFor,
  DEV_POST_CLIENT_ID,
  DEV_POST_CLIENT_SECRET,
  DEV_SECURE_CLIENT_ID,
  type DevIdp,
  type DevIdpOptions,
  startDevIdp,
} from '@okta-bff/dev-idp';
import { DEV_IDP, type Env, loadBffConfig } from '@okta-bff/oidc';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, eventLogger } from '../logger.ts';
import { discoverIdp, type Idp } from '../oidc/idp.ts';
import { NO_METRICS } from '../ops/metrics.ts';
import {
  type ClientTokens,
  createClientTokens,
  FAILURE_BACKOFF_MS,
  type UpstreamToken,
} from './client-tokens.ts';

/** The BFF's origin the clients are registered for; nothing listens there (no sign-in here). */
const ORIGIN = 'http://localhost:8765';
/** A `private_key_jwt` client without DPoP (the secure dev client requires DPoP). */
const PKJ_CLIENT_ID = '0oadevbffpkjcc000000';
const STATS = ['items:stats'];
/** Required by the config loader; nothing is sealed here. */
const SESSION_SECRET = 'client-tokens-test-secret-0123456789abcdef';
const AUDIT = ['items:audit'];

let clientJwk: JWK;
let idp: DevIdp;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  clientJwk = { ...(await exportJWK(pair.privateKey)), kid: 'bff-cc-test-key', alg: 'ES256' };
  // Okta's token endpoint always asks DPoP requests for a nonce: so does this one.
  idp = await startIdp({ dpopNonce: true });
});
afterAll(async () => {
  await idp?.close();
});
beforeEach(() => {
  idp.events.clear();
});

function startIdp(options: Omit<DevIdpOptions, 'port' | 'clients' | 'customScopes'> = {}): Promise<DevIdp> {
  const { d: _d, ...publicJwk } = clientJwk;
  return startDevIdp({
    ...options,
    port: 0,
    customScopes: [...CUSTOM_SCOPES, ...AUDIT],
    clients: [
      createDevClientFor(ORIGIN),
      createPostSecretDevClientFor(ORIGIN),
      createSecureDevClientFor({ keys: [publicJwk] }, ORIGIN),
      {
        ...createSecureDevClientFor({ keys: [publicJwk] }, ORIGIN),
        client_id: PKJ_CLIENT_ID,
        dpop_bound_access_tokens: false,
      },
    ],
  });
}

const BASIC: Env = {};
const POST: Env = {
  CLIENT_ID: DEV_POST_CLIENT_ID,
  CLIENT_SECRET: DEV_POST_CLIENT_SECRET,
  CLIENT_AUTH_METHOD: 'client_secret_post',
};
/** `private_key_jwt` with the test's key (generated in `beforeAll`, hence a function). */
const pkj = (clientId: string): Env => ({
  CLIENT_ID: clientId,
  CLIENT_SECRET: '',
  CLIENT_AUTH_METHOD: 'private_key_jwt',
  CLIENT_PRIVATE_KEY: JSON.stringify(clientJwk),
});

interface Bed {
  readonly tokens: ClientTokens;
  readonly idp: Idp;
  /** Token-endpoint requests the BFF sent, counted at its `fetch`. */
  readonly tokenRequests: () => number;
  /** The log lines, as JSON. */
  readonly lines: Record<string, unknown>[];
  readonly logText: () => string;
  /** The cache's clock: epoch milliseconds, moved by the test. */
  readonly clock: { ms: number };
}

/** A client-token cache for the BFF configured by `env`, on `target`, with its own clock. */
async function bed(env: Env, target: DevIdp = idp): Promise<Bed> {
  const config = loadBffConfig(
    {
      OKTA_ISSUER: target.issuer,
      CLIENT_ID: DEV_IDP.clientId,
      CLIENT_SECRET: DEV_IDP.clientSecret,
      REDIRECT_URL: `${ORIGIN}/authorization-code/callback`,
      SESSION_SECRET,
      ...env,
    },
    'production',
  );
  const discovered = await discoverIdp(config);
  let count = 0;
  const counted: Idp = {
    ...discovered,
    fetch: (input, init) => {
      if (String(input) === discovered.as.token_endpoint) count++;
      return discovered.fetch(input, init);
    },
  };
  const text: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _encoding, done) {
        text.push(String(chunk));
        done();
      },
    }),
  );
  const clock = { ms: Date.now() };
  const tokens = createClientTokens({
    idp: { current: () => counted },
    log: eventLogger(logger),
    metrics: NO_METRICS,
    nowMs: () => clock.ms,
  });
  return {
    tokens,
    idp: counted,
    tokenRequests: () => count,
    get lines() {
      return text.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => text.join(''),
    clock,
  };
}

async function tokenOf(tokens: ClientTokens, scopes: readonly string[]): Promise<UpstreamToken> {
  const result = await tokens.get(scopes);
  if (!result.ok) throw new Error('no token', { cause: result.cause });
  return result.token;
}

async function verified(target: DevIdp, accessToken: string) {
  const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${target.issuer}/v1/keys`)), {
    issuer: target.issuer,
    audience: DEV_IDP.audience,
    algorithms: ['RS256'],
  });
  return payload;
}

describe('a token with each client authentication method', () => {
  it.each([
    ['client_secret_basic', BASIC, DEV_IDP.clientId],
    ['client_secret_post', POST, DEV_POST_CLIENT_ID],
    ['private_key_jwt', () => pkj(PKJ_CLIENT_ID), PKJ_CLIENT_ID],
  ] as const)(
    '%s: a Bearer JWT for the API, whose subject is the client, for the scopes',
    async (method, env, clientId) => {
      const b = await bed(typeof env === 'function' ? env() : env);
      const before = Math.floor(b.clock.ms / 1000);
      const token = await tokenOf(b.tokens, STATS);
      expect(token.dpopKey).toBeUndefined();
      expect(token.accessTokenExpiresAt).toBe(before + 3600);
      const claims = await verified(idp, token.accessToken);
      expect(claims).toMatchObject({ sub: clientId, cid: clientId, scp: STATS });
      expect(claims.cnf).toBeUndefined();
      expect(claims.exp).toBeGreaterThanOrEqual(token.accessTokenExpiresAt);

      expect(b.tokenRequests()).toBe(1);
      expect(idp.events.tokenGrants).toMatchObject([
        { grantType: 'client_credentials', clientId, tokenType: 'Bearer' },
      ]);
      expect(idp.events.clientAuthentications).toMatchObject([
        { endpoint: 'token', clientId, method, error: undefined },
      ]);
      if (method === 'private_key_jwt') {
        // Okta accepts an assertion only when its audience is exactly the endpoint it is sent to.
        expect(idp.events.clientAssertions).toMatchObject([
          { aud: `${idp.issuer}/v1/token`, iss: clientId, sub: clientId },
        ]);
        expect(idp.events.clientSecretsPresented()).toBe(0);
      }
    },
  );
});

describe('API_TOKEN_TYPE=dpop', () => {
  it('binds the token to one process key (cnf.jkt), learning the nonce once, for every scope set', async () => {
    const b = await bed({ ...pkj(DEV_SECURE_CLIENT_ID), API_TOKEN_TYPE: 'dpop' });
    const token = await tokenOf(b.tokens, STATS);
    expect(token.dpopKey?.d).toEqual(expect.any(String));
    const { d: _d, ...publicJwk } = token.dpopKey ?? {};
    const jkt = await calculateJwkThumbprint(publicJwk as JWK);
    expect((await verified(idp, token.accessToken)).cnf).toEqual({ jkt });
    expect(idp.events.tokenGrants).toMatchObject([{ grantType: 'client_credentials', tokenType: 'DPoP' }]);
    // The first proof had no nonce; the IdP asked for one and the retry carried it (RFC 9449 §8).
    expect(idp.events.dpopProofs).toMatchObject([
      { endpoint: 'token', jkt, hadNonce: false, error: 'use_dpop_nonce' },
      { endpoint: 'token', jkt, hadNonce: true, error: undefined },
    ]);
    expect(b.tokenRequests()).toBe(2);

    // Another scope set: the same key, and the nonce is remembered (one request, no challenge).
    const audit = await tokenOf(b.tokens, AUDIT);
    expect(audit.dpopKey).toBe(token.dpopKey);
    expect(decodeJwt(audit.accessToken).cnf).toEqual({ jkt });
    expect(idp.events.dpopProofs.at(-1)).toMatchObject({ jkt, hadNonce: true, error: undefined });
    expect(b.tokenRequests()).toBe(3);
  });

  it('a Bearer BFF sends no proof', async () => {
    const b = await bed(pkj(PKJ_CLIENT_ID));
    await tokenOf(b.tokens, STATS);
    expect(idp.events.dpopProofs).toEqual([]);
  });
});

describe('single flight and reuse', () => {
  it('20 concurrent callers: one token request, one and the same token object for all', async () => {
    const b = await bed(BASIC);
    const results = await Promise.all(Array.from({ length: 20 }, () => b.tokens.get(STATS)));
    expect(b.tokenRequests()).toBe(1);
    expect(idp.events.grantCount('client_credentials')).toBe(1);
    const first = results[0];
    expect(first?.ok).toBe(true);
    for (const result of results) expect(result.ok && result.token).toBe(first?.ok && first.token);
  });

  it('reuses the token until 60 s before it expires, then asks once for a new one', async () => {
    const b = await bed(BASIC);
    const token = await tokenOf(b.tokens, STATS);
    const expMs = token.accessTokenExpiresAt * 1000;

    b.clock.ms = expMs - 60_001;
    expect(await tokenOf(b.tokens, STATS)).toBe(token);
    expect(b.tokenRequests()).toBe(1);

    b.clock.ms = expMs - 60_000;
    const renewed = await Promise.all(Array.from({ length: 5 }, () => tokenOf(b.tokens, STATS)));
    expect(b.tokenRequests()).toBe(2);
    expect(renewed[0]).not.toBe(token);
    expect(renewed[0]?.accessToken).not.toBe(token.accessToken);
    for (const t of renewed) expect(t).toBe(renewed[0]);
    expect(idp.events.grantCount('client_credentials')).toBe(2);
  });

  it('a short-lived token is renewed at half its lifetime, when that comes before the last minute', async () => {
    const shortLived = await startIdp({ accessTokenTtlS: 100 });
    try {
      const b = await bed(BASIC, shortLived);
      const token = await tokenOf(b.tokens, STATS);
      expect(token.accessTokenExpiresAt).toBe(Math.floor(b.clock.ms / 1000) + 100);
      const expMs = token.accessTokenExpiresAt * 1000;
      b.clock.ms = expMs - 50_001;
      expect(await tokenOf(b.tokens, STATS)).toBe(token);
      b.clock.ms = expMs - 50_000;
      expect(await tokenOf(b.tokens, STATS)).not.toBe(token);
      expect(b.tokenRequests()).toBe(2);
    } finally {
      await shortLived.close();
    }
  });

  it('different scope sets are different tokens; order and repeats do not matter', async () => {
    const b = await bed(BASIC);
    const [stats, audit, both, bothAgain] = await Promise.all([
      tokenOf(b.tokens, STATS),
      tokenOf(b.tokens, AUDIT),
      tokenOf(b.tokens, ['items:stats', 'items:audit']),
      tokenOf(b.tokens, ['items:audit', 'items:stats', 'items:audit']),
    ]);
    expect(b.tokenRequests()).toBe(3);
    expect(new Set([stats, audit, both]).size).toBe(3);
    expect(bothAgain).toBe(both);
    expect(decodeJwt(stats.accessToken).scp).toEqual(['items:stats']);
    expect(decodeJwt(audit.accessToken).scp).toEqual(['items:audit']);
    expect(decodeJwt(both.accessToken).scp).toEqual(['items:audit', 'items:stats']);
  });
});

describe('refusals and outages', () => {
  it.each([
    ['an unknown scope', ['items:delete']],
    ['openid', ['openid']],
    ['offline_access next to a custom scope', ['items:stats', 'offline_access']],
  ])(
    '%s: ok false (no throw), one warn line with the status, invalid_scope and the endpoint',
    async (_what, scopes) => {
      const b = await bed(BASIC);
      const result = await b.tokens.get(scopes);
      expect(result).toMatchObject({ ok: false, retryAfterS: undefined });
      expect(idp.events.tokenErrors).toMatchObject([
        { grantType: 'client_credentials', error: 'invalid_scope' },
      ]);
      const warnings = b.lines.filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        event: 'client_token_failed',
        failure: 'refused',
        endpoint: `${idp.issuer}/v1/token`,
        cause: { name: 'ResponseBodyError', status: 400, error: 'invalid_scope' },
      });
      expect(String(warnings[0]?.reason)).toContain('(HTTP 400, error=invalid_scope)');
      expect(b.logText()).not.toContain(DEV_IDP.clientSecret);

      // Not asked again at once (no hammering); after the short back-off, the next caller asks.
      expect(await b.tokens.get(scopes)).toBe(result);
      expect(b.tokenRequests()).toBe(1);
      b.clock.ms += FAILURE_BACKOFF_MS;
      expect((await b.tokens.get(scopes)).ok).toBe(false);
      expect(b.tokenRequests()).toBe(2);
      expect(b.lines.filter((line) => line.level === 40)).toHaveLength(2);
    },
  );

  it('an IdP that goes away: the token is used until it expires, and never after', async () => {
    const doomed = await startIdp();
    const b = await bed(BASIC, doomed);
    const token = await tokenOf(b.tokens, STATS);
    await doomed.close();
    const expMs = token.accessTokenExpiresAt * 1000;

    // Due for renewal: the request fails (connection refused), the token is still good.
    b.clock.ms = expMs - 60_000;
    expect(await tokenOf(b.tokens, STATS)).toBe(token);
    expect(b.tokenRequests()).toBe(2);
    const warnings = b.lines.filter((line) => line.level === 40);
    expect(warnings).toMatchObject([{ event: 'client_token_failed', failure: 'unavailable' }]);
    expect(String(warnings[0]?.reason)).toMatch(/could not be reached/);

    // The last millisecond: asked again (the back-off is over), failed again, still good.
    b.clock.ms = expMs - 1;
    expect(await tokenOf(b.tokens, STATS)).toBe(token);
    expect(b.tokenRequests()).toBe(3);

    // Its expiry, within that failure's back-off: not asked, and not handed out either.
    b.clock.ms = expMs;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(b.tokenRequests()).toBe(3);
    // After the back-off: asked, failed, nothing to fall back on.
    b.clock.ms = expMs + FAILURE_BACKOFF_MS;
    expect(await b.tokens.get(STATS)).toMatchObject({ ok: false, retryAfterS: undefined });
    expect(b.tokenRequests()).toBe(4);
    expect(b.lines.filter((line) => line.level === 40)).toHaveLength(3);
  });

  it('never mixes anything of a user in: the cache is keyed by scopes only, and its lines carry no token', async () => {
    const b = await bed(BASIC);
    const token = await tokenOf(b.tokens, STATS);
    await b.tokens.get(['items:delete']);
    expect(b.logText()).not.toContain(token.accessToken);
  });
});
