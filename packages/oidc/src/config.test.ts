import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTE_NAME } from './api-routes.ts';
import { ConfigError, type Env, loadBffConfig, type RunMode } from './config.ts';
import { DEV_IDP } from './dev-defaults.ts';
import { issuerFromEnv } from './urls.ts';

const SECRET = 'x'.repeat(32);
const PROD: Env = {
  CLIENT_ID: '0oa1abcd',
  CLIENT_SECRET: 'secret-value',
  OKTA_DOMAIN: 'dev-123456.okta.com',
  SESSION_SECRET: SECRET,
};

function problemsOf(env: Env, mode: RunMode = 'production'): Record<string, string[]> {
  try {
    loadBffConfig(env, mode);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const out: Record<string, string[]> = {};
    for (const p of (error as ConfigError).problems) {
      out[p.variable] = [...(out[p.variable] ?? []), p.reason];
    }
    return out;
  }
  throw new Error('expected a ConfigError');
}

describe('loadBffConfig', () => {
  it('accepts the tutorial .env unchanged and fills in the defaults', () => {
    const config = loadBffConfig({
      ...PROD,
      REDIRECT_URL: 'http://localhost:8000/authorization-code/callback',
      OKTA_PROMPT: 'login',
    });
    expect(config).toMatchObject({
      mode: 'production',
      issuer: 'https://dev-123456.okta.com/oauth2/default',
      issuerIsLoopbackHttp: false,
      clientId: '0oa1abcd',
      callbackPath: '/authorization-code/callback',
      publicOrigin: 'http://localhost:8000',
      secureCookies: false,
      prompt: 'login',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      responseMode: 'query',
      postLogoutRedirectUrl: 'http://localhost:8000/',
      apiUpstreamUrl: 'http://localhost:8001/',
      port: 8000,
      sessionSecrets: [SECRET],
      rateLimitLoginPerMin: 30,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads RATE_LIMIT_LOGIN_PER_MIN (0 turns it off) and refuses what is not a whole number', () => {
    expect(loadBffConfig({ ...PROD, RATE_LIMIT_LOGIN_PER_MIN: '0' }).rateLimitLoginPerMin).toBe(0);
    expect(loadBffConfig({ ...PROD, RATE_LIMIT_LOGIN_PER_MIN: '120' }).rateLimitLoginPerMin).toBe(120);
    for (const bad of ['-1', '1.5', 'lots']) {
      expect(problemsOf({ ...PROD, RATE_LIMIT_LOGIN_PER_MIN: bad })).toEqual({
        RATE_LIMIT_LOGIN_PER_MIN: [expect.stringContaining('whole number')],
      });
    }
  });

  it('takes OKTA_ISSUER over OKTA_DOMAIN (org authorization server) and https origins get secure cookies', () => {
    const config = loadBffConfig({
      ...PROD,
      OKTA_ISSUER: 'https://dev-123456.okta.com/',
      REDIRECT_URL: 'https://app.example.com/callback',
    });
    expect(config.issuer).toBe('https://dev-123456.okta.com');
    expect(config.secureCookies).toBe(true);
    expect(config.postLogoutRedirectUrl).toBe('https://app.example.com/');
  });

  it('defaults to the embedded IdP, its client and a generated secret in development only', () => {
    const a = loadBffConfig({}, 'development');
    const b = loadBffConfig({}, 'development');
    expect(a.issuer).toBe(DEV_IDP.issuer);
    expect(a.issuerIsLoopbackHttp).toBe(true);
    expect(a.clientId).toBe(DEV_IDP.clientId);
    expect(a.sessionSecrets[0]).toHaveLength(43);
    expect(a.sessionSecrets[0]).not.toBe(b.sessionSecrets[0]);
    expect(a.viteDevUrl).toBe('http://localhost:5173');
    // The environment never chooses development: only the entry point does (pnpm dev).
    expect(loadBffConfig({ ...PROD, NODE_ENV: 'development' }).mode).toBe('production');
    expect(problemsOf({})).toEqual({
      OKTA_DOMAIN: [expect.stringContaining('is required')],
      CLIENT_ID: [expect.stringContaining('is required')],
      CLIENT_SECRET: [expect.stringContaining('is required')],
      SESSION_SECRET: [expect.stringContaining('is required')],
    });
  });

  it('never pairs the dev client credentials with a real Okta issuer', () => {
    const problems = problemsOf({ OKTA_DOMAIN: 'dev-1.okta.com' }, 'development');
    expect(Object.keys(problems).sort()).toEqual(['CLIENT_ID', 'CLIENT_SECRET']);
  });

  it.each([
    [{ OKTA_ISSUER: 'http://dev-1.okta.com/oauth2/default' }, 'OKTA_ISSUER', 'https'],
    [{ OKTA_DOMAIN: 'http://10.0.0.1' }, 'OKTA_DOMAIN', 'https'],
    [{ OKTA_ISSUER: 'https://x.okta.com/oauth2/default?x=1' }, 'OKTA_ISSUER', 'query'],
    [{ OKTA_ISSUER: 'not a url' }, 'OKTA_ISSUER', 'not a valid URL'],
    [{ REDIRECT_URL: 'localhost:8000/cb' }, 'REDIRECT_URL', 'http(s)'],
    [{ REDIRECT_URL: '/callback' }, 'REDIRECT_URL', 'absolute'],
    [{ REDIRECT_URL: 'http://app.example.com/cb' }, 'REDIRECT_URL', 'https'],
    [{ REDIRECT_URL: 'https://app.example.com/' }, 'REDIRECT_URL', 'path'],
    [{ OKTA_PROMPT: 'select_account' }, 'OKTA_PROMPT', 'must be one of'],
    [{ OKTA_PROMPT: 'none login' }, 'OKTA_PROMPT', 'must be one of'],
    [{ OKTA_SCOPES: 'profile email' }, 'OKTA_SCOPES', 'openid'],
    [{ OKTA_RESPONSE_MODE: 'fragment' }, 'OKTA_RESPONSE_MODE', 'form_post'],
    [{ POST_LOGOUT_REDIRECT_URL: 'javascript:alert(1)' }, 'POST_LOGOUT_REDIRECT_URL', 'http(s)'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET', 'at least 32'],
    [{ SESSION_SECRET: `${SECRET},short` }, 'SESSION_SECRET', 'entry 2'],
    [{ API_UPSTREAM_URL: 'ftp://api' }, 'API_UPSTREAM_URL', 'http(s)'],
    [{ API_UPSTREAM_URL: 'http://api:8001/v1?x=1' }, 'API_UPSTREAM_URL', 'query'],
    [{ PORT: '80a' }, 'PORT', 'whole number'],
    [{ PORT: '70000' }, 'PORT', 'whole number'],
    [{ API_UPSTREAM_TIMEOUT_MS: '0' }, 'API_UPSTREAM_TIMEOUT_MS', 'whole number'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of'],
  ])('reports %o as a problem with %s', (overrides, variable, reason) => {
    const problems = problemsOf({ ...PROD, ...overrides });
    expect(Object.keys(problems)).toEqual([variable]);
    expect(problems[variable]?.[0]).toContain(reason);
  });

  it('reports several bad variables together, one line each', () => {
    let error: ConfigError | undefined;
    try {
      loadBffConfig({
        OKTA_DOMAIN: 'dev-1.okta.com',
        OKTA_PROMPT: 'maybe',
        SESSION_SECRET: 'short',
        PORT: 'x',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(TypeError);
    const lines = error?.message.split('\n') ?? [];
    expect(lines).toHaveLength(5);
    for (const v of ['CLIENT_ID', 'CLIENT_SECRET', 'OKTA_PROMPT', 'SESSION_SECRET', 'PORT']) {
      expect(lines.some((l) => l.startsWith(`${v}: `))).toBe(true);
    }
  });

  it('normalizes prompt word order and accepts internal API upstreams over http', () => {
    const config = loadBffConfig({
      ...PROD,
      OKTA_PROMPT: 'consent login',
      API_UPSTREAM_URL: 'http://api.internal/v1',
    });
    expect(config.prompt).toBe('login consent');
    expect(config.apiUpstreamUrl).toBe('http://api.internal/v1');
  });
});

describe('API routes configuration', () => {
  const ROUTES = JSON.stringify([
    { name: 'orders', prefix: '/api/orders', upstream: 'http://orders.internal:8080/v1/' },
    { name: 'api', prefix: '/api', upstream: 'https://api.example.com/base', timeoutMs: 1000 },
  ]);
  /** The ConfigError's message lines: what the BFF prints on stderr. */
  function linesOf(env: Env, mode: RunMode = 'production'): string[] {
    try {
      loadBffConfig(env, mode);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message.split('\n');
    }
    throw new Error('expected a ConfigError');
  }

  it('without API_ROUTES: one route /api → API_UPSTREAM_URL (default http://localhost:8001) with the user token', () => {
    const config = loadBffConfig(PROD);
    expect(config.apiRoutes).toEqual([
      {
        name: DEFAULT_ROUTE_NAME,
        prefix: '/api',
        upstreamUrl: 'http://localhost:8001/',
        token: 'user',
        scopes: [],
        sessionRequired: true,
        timeoutMs: 30_000,
        websocket: false,
        stepUp: undefined,
      },
    ]);
    expect(Object.isFrozen(config.apiRoutes)).toBe(true);
    expect(config.apiUpstreamUrl).toBe('http://localhost:8001/');

    const given = loadBffConfig({
      ...PROD,
      API_UPSTREAM_URL: 'http://api.internal/v1/',
      API_UPSTREAM_TIMEOUT_MS: '2000',
    });
    expect(given.apiRoutes).toEqual([
      expect.objectContaining({
        name: 'api',
        prefix: '/api',
        upstreamUrl: 'http://api.internal/v1',
        timeoutMs: 2000,
      }),
    ]);
    expect(given.apiUpstreamUrl).toBe('http://api.internal/v1');
  });

  it('reads API_ROUTES, longest prefix first, with API_UPSTREAM_TIMEOUT_MS as the default timeout', () => {
    const config = loadBffConfig({ ...PROD, API_ROUTES: ROUTES, API_UPSTREAM_TIMEOUT_MS: '2000' });
    expect(config.apiRoutes.map((r) => [r.name, r.prefix, r.upstreamUrl, r.timeoutMs])).toEqual([
      ['orders', '/api/orders', 'http://orders.internal:8080/v1', 2000],
      ['api', '/api', 'https://api.example.com/base', 1000],
    ]);
    // The /api route's upstream, wherever it is in the list.
    expect(config.apiUpstreamUrl).toBe('https://api.example.com/base');
  });

  it('without an /api route, apiUpstreamUrl is the first route’s (the longest prefix)', () => {
    const config = loadBffConfig({
      ...PROD,
      API_ROUTES: JSON.stringify([
        { name: 'a', prefix: '/api/a', upstream: 'http://a' },
        { name: 'bb', prefix: '/api/bb', upstream: 'http://bb' },
      ]),
    });
    expect(config.apiUpstreamUrl).toBe('http://bb/');
  });

  it('defaults to the development route table in development when neither variable is set', () => {
    const config = loadBffConfig({}, 'development');
    expect(config.apiRoutes.map((r) => [r.name, r.prefix, r.upstreamUrl, r.token, r.scopes])).toEqual([
      ['public', '/api/public', 'http://localhost:8001/public', 'none', []],
      ['items', '/api/items', 'http://localhost:8001/items', 'user', []],
      ['stats', '/api/stats', 'http://localhost:8001/stats', 'client', ['items:stats']],
      ['live', '/api/live', 'http://localhost:8001/live', 'user', []],
    ]);
    // Either variable replaces it.
    expect(
      loadBffConfig({ API_UPSTREAM_URL: 'http://localhost:9999' }, 'development').apiRoutes.map(
        (r) => r.name,
      ),
    ).toEqual(['api']);
    expect(loadBffConfig({ API_ROUTES: ROUTES }, 'development').apiRoutes.map((r) => r.name)).toEqual([
      'orders',
      'api',
    ]);
  });

  it('refuses API_UPSTREAM_URL set together with API_ROUTES', () => {
    expect(linesOf({ ...PROD, API_ROUTES: ROUTES, API_UPSTREAM_URL: 'http://localhost:8001' })).toEqual([
      'API_UPSTREAM_URL: set together with API_ROUTES; give that upstream a route instead',
    ]);
  });

  it('prints one line per route problem, all at once, with the other variables’ problems', () => {
    const lines = linesOf({
      ...PROD,
      PORT: 'x',
      API_ROUTES: JSON.stringify([
        { name: 'orders', prefix: '/api/orders', upstream: 'http://orders' },
        { name: 'files', prefix: '/api/files/', upstream: 'ftp://x' },
        { prefix: '/api/orders', upstream: 'http://x', tokne: 'none' },
        {
          name: 'admin',
          prefix: '/api/admin',
          upstream: 'http://admin',
          token: 'none',
          stepUp: { maxAge: 300 },
        },
      ]),
    });
    expect(lines).toEqual([
      'PORT: must be a whole number from 1 to 65535; got "x"',
      'API_ROUTES[1] (files).prefix: must not end with "/"; got "/api/files/"',
      'API_ROUTES[1] (files).upstream: must be an http: or https: URL; got "ftp://x"',
      "API_ROUTES[2].name: is required: the route's name in logs, metrics and traces ([a-z0-9-]+)",
      'API_ROUTES[2].prefix: "/api/orders" is also the prefix of API_ROUTES[0] (orders); prefixes must be unique',
      'API_ROUTES[2].tokne: is not a route field; did you mean "token"?',
      'API_ROUTES[3] (admin).stepUp: requires a session, which "token": "none" does not; use "user" or "client"',
    ]);
  });

  it.each([
    [
      'not json',
      'API_ROUTES: is not valid JSON; it must be a JSON list of routes, e.g. [{"name": "api", …}]',
    ],
    ['{}', 'API_ROUTES: must be a JSON list of routes; got an object'],
    ['[]', 'API_ROUTES: must list at least one route; got []'],
  ])('API_ROUTES=%s: one problem', (value, line) => {
    expect(linesOf({ ...PROD, API_ROUTES: value })).toEqual([line]);
    expect(linesOf({ API_ROUTES: value }, 'development')).toEqual([line]);
  });

  it('treats an empty API_ROUTES as unset', () => {
    expect(loadBffConfig({ ...PROD, API_ROUTES: '  ' }).apiRoutes.map((r) => r.name)).toEqual(['api']);
  });
});

describe('issuerFromEnv', () => {
  it('derives the default custom authorization server from OKTA_DOMAIN, tolerating a scheme', () => {
    expect(issuerFromEnv({ OKTA_DOMAIN: 'dev-1.okta.com' })).toBe('https://dev-1.okta.com/oauth2/default');
    expect(issuerFromEnv({ OKTA_DOMAIN: 'https://dev-1.okta.com/' })).toBe(
      'https://dev-1.okta.com/oauth2/default',
    );
    expect(issuerFromEnv({})).toBeUndefined();
  });
});

describe('session store configuration', () => {
  it('defaults to the cookie store with Okta’s 2-hour idle timeout', () => {
    expect(loadBffConfig(PROD)).toMatchObject({
      sessionStore: 'cookie',
      redisUrl: undefined,
      redisCluster: false,
      sessionIdleTimeoutS: 7200,
    });
  });

  it('accepts Redis with a URL, TLS, a database number and cluster mode', () => {
    expect(
      loadBffConfig({
        ...PROD,
        SESSION_STORE: 'redis',
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        REDIS_CLUSTER: 'true',
      }),
    ).toMatchObject({
      sessionStore: 'redis',
      redisUrl: 'rediss://user:pw@redis.internal:6380/2',
      redisCluster: true,
    });
  });

  it('names every bad store variable, never echoing a REDIS_URL that may hold a password', () => {
    expect(problemsOf({ ...PROD, SESSION_STORE: 'redis' })).toEqual({
      REDIS_URL: ['is required with SESSION_STORE=redis, e.g. redis://localhost:6379'],
    });
    const bad = problemsOf({
      ...PROD,
      SESSION_STORE: 'memcached',
      REDIS_URL: 'http://:hunter2@host',
      REDIS_CLUSTER: 'yes',
      SESSION_IDLE_TIMEOUT_S: '5',
    });
    expect(Object.keys(bad).sort()).toEqual([
      'REDIS_CLUSTER',
      'REDIS_URL',
      'SESSION_IDLE_TIMEOUT_S',
      'SESSION_STORE',
    ]);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
    expect(
      problemsOf({ ...PROD, SESSION_STORE: 'redis', REDIS_URL: 'not a url :hunter2' }).REDIS_URL?.[0],
    ).not.toContain('hunter2');
  });
});

describe('client security configuration', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwkOf = (k: KeyObject, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...k.export({ format: 'jwk' }), ...extra });
  const noSecret = { ...PROD, CLIENT_SECRET: undefined };

  it('accepts private_key_jwt with a private JWK (its kid and alg) or a PKCS#8 PEM, without CLIENT_SECRET', () => {
    const fromJwk = loadBffConfig({
      ...noSecret,
      CLIENT_AUTH_METHOD: 'private_key_jwt',
      CLIENT_PRIVATE_KEY: jwkOf(ec.privateKey, { kid: 'k-1', alg: 'ES256' }),
    });
    expect(fromJwk).toMatchObject({
      clientAuthMethod: 'private_key_jwt',
      clientSecret: '',
      clientPrivateKey: { alg: 'ES256', kid: 'k-1', jwk: { kid: 'k-1' } },
    });
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const fromPem = loadBffConfig({
      ...noSecret,
      CLIENT_AUTH_METHOD: 'private_key_jwt',
      CLIENT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
    });
    expect(fromPem.clientPrivateKey).toMatchObject({ alg: 'RS256' });
  });

  it('takes the kid from CLIENT_PRIVATE_KEY_ID, else the JWK; a PEM without it has none (no thumbprint)', () => {
    const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const env = { ...noSecret, CLIENT_AUTH_METHOD: 'private_key_jwt' };
    const keyOf = (more: Env) => loadBffConfig({ ...env, ...more }).clientPrivateKey;

    const bare = keyOf({ CLIENT_PRIVATE_KEY: pem });
    expect(bare?.kid).toBeUndefined();
    expect(bare?.jwk).not.toHaveProperty('kid');
    expect(keyOf({ CLIENT_PRIVATE_KEY: jwkOf(ec.privateKey) })?.kid).toBeUndefined();

    const chosen = keyOf({ CLIENT_PRIVATE_KEY: pem, CLIENT_PRIVATE_KEY_ID: 'kid-from-okta_1' });
    expect(chosen).toMatchObject({ kid: 'kid-from-okta_1', jwk: { kid: 'kid-from-okta_1' } });
    // The IdP's kid wins over the one written in the JWK.
    expect(
      keyOf({ CLIENT_PRIVATE_KEY: jwkOf(ec.privateKey, { kid: 'k-1' }), CLIENT_PRIVATE_KEY_ID: 'k-2' })?.kid,
    ).toBe('k-2');
  });

  it('refuses CLIENT_PRIVATE_KEY_ID without private_key_jwt, or with spaces or control characters', () => {
    expect(Object.keys(problemsOf({ ...PROD, CLIENT_PRIVATE_KEY_ID: 'k-1' }))).toEqual([
      'CLIENT_PRIVATE_KEY_ID',
    ]);
    const env = {
      ...noSecret,
      CLIENT_AUTH_METHOD: 'private_key_jwt',
      CLIENT_PRIVATE_KEY: jwkOf(ec.privateKey),
    };
    for (const bad of ['two words', 'tab\there', 'x'.repeat(257)]) {
      expect(Object.keys(problemsOf({ ...env, CLIENT_PRIVATE_KEY_ID: bad }))).toEqual([
        'CLIENT_PRIVATE_KEY_ID',
      ]);
    }
  });

  it('accepts client_secret_post, which needs CLIENT_SECRET as Basic does', () => {
    expect(loadBffConfig({ ...PROD, CLIENT_AUTH_METHOD: 'client_secret_post' })).toMatchObject({
      clientAuthMethod: 'client_secret_post',
      clientSecret: 'secret-value',
      clientPrivateKey: undefined,
    });
    expect(Object.keys(problemsOf({ ...noSecret, CLIENT_AUTH_METHOD: 'client_secret_post' }))).toEqual([
      'CLIENT_SECRET',
    ]);
  });

  it('refuses a missing, public-only, weak or mislabelled key, naming CLIENT_PRIVATE_KEY without echoing it', () => {
    const auth = { ...noSecret, CLIENT_AUTH_METHOD: 'private_key_jwt' };
    expect(Object.keys(problemsOf(auth))).toEqual(['CLIENT_PRIVATE_KEY']);
    for (const bad of [
      jwkOf(ec.publicKey),
      'not a key',
      jwkOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey),
      jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey),
      jwkOf(ec.privateKey, { alg: 'RS256' }),
    ]) {
      const problems = problemsOf({ ...auth, CLIENT_PRIVATE_KEY: bad });
      expect(Object.keys(problems)).toEqual(['CLIENT_PRIVATE_KEY']);
      if (bad.length > 40) expect(JSON.stringify(problems)).not.toContain(bad.slice(20, 40));
    }
  });

  it('reads OKTA_USE_PAR and API_TOKEN_TYPE, and refuses other values', () => {
    expect(loadBffConfig({ ...PROD, OKTA_USE_PAR: 'true', API_TOKEN_TYPE: 'dpop' })).toMatchObject({
      usePar: true,
      apiTokenType: 'dpop',
    });
    expect(loadBffConfig(PROD)).toMatchObject({
      usePar: false,
      apiTokenType: 'bearer',
      clientAuthMethod: 'client_secret_basic',
    });
    expect(
      Object.keys(
        problemsOf({
          ...PROD,
          OKTA_USE_PAR: 'yes',
          API_TOKEN_TYPE: 'mtls',
          CLIENT_AUTH_METHOD: 'client_secret_jwt',
        }),
      ).sort(),
    ).toEqual(['API_TOKEN_TYPE', 'CLIENT_AUTH_METHOD', 'OKTA_USE_PAR']);
  });
});
