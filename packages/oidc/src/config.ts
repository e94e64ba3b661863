import { createPrivateKey, type JsonWebKeyInput, type KeyObject, randomBytes } from 'node:crypto';
import {
  API_TIMEOUT_MAX_MS,
  API_TIMEOUT_MIN_MS,
  type ApiRoute,
  defaultApiRoute,
  normalizeUpstreamUrl,
  parseApiRoutes,
} from './api-routes.ts';
import { DEFAULT_API_UPSTREAM_URL, DEFAULT_REDIRECT_URL, DEV_API_ROUTES, DEV_IDP } from './dev-defaults.ts';
import { isAllowedIssuerUrl, isLoopbackHost, issuerFromEnv } from './urls.ts';

/**
 * The BFF's configuration: read once from the environment at start-up, validated as a whole,
 * frozen. Every problem is collected and reported together (see {@link ConfigError}).
 *
 * @see docs/configuration.md
 */

export type ResponseMode = 'query' | 'form_post';
export type Prompt = 'none' | 'login' | 'consent' | 'login consent';
export type RunMode = 'development' | 'production';
export type SessionStoreKind = 'cookie' | 'redis';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
export type ApiTokenType = 'bearer' | 'dpop';

/** A client's private signing key, as a JWK (never logged: `d` and the other private members are secret). */
export interface ClientPrivateKey {
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly alg: 'RS256' | 'ES256';
  /**
   * The `kid` header of each client assertion: `CLIENT_PRIVATE_KEY_ID`, else the JWK's own `kid`;
   * `undefined` for a PEM without `CLIENT_PRIVATE_KEY_ID` (the assertion then names no key and
   * the IdP tries every key registered for the client).
   */
  readonly kid: string | undefined;
}

export interface BffConfig {
  readonly mode: RunMode;
  /** Issuer identifier, exactly as the IdP's discovery document must state it. */
  readonly issuer: string;
  /** True when `issuer` is `http:` on a loopback host (the embedded IdP); see `allowInsecureRequests`. */
  readonly issuerIsLoopbackHttp: boolean;
  readonly clientId: string;
  /** Empty with `private_key_jwt`: the secret is then neither needed nor sent. */
  readonly clientSecret: string;
  /** How the BFF authenticates to the token, revocation and PAR endpoints. */
  readonly clientAuthMethod: ClientAuthMethod;
  /** With `private_key_jwt`: the private key (a JWK with `alg`, and `kid` when one is known) whose public half is registered in Okta. */
  readonly clientPrivateKey: ClientPrivateKey | undefined;
  /** `OKTA_USE_PAR=true`: authorization requests are pushed (RFC 9126). */
  readonly usePar: boolean;
  /** `API_TOKEN_TYPE`: `dpop` binds access tokens to a key the BFF holds per session (RFC 9449). */
  readonly apiTokenType: ApiTokenType;
  /** `REDIRECT_URL`: the callback URL registered at the IdP. */
  readonly redirectUrl: string;
  /** Path of `redirectUrl`: the BFF's callback route. */
  readonly callbackPath: string;
  /** Origin of `redirectUrl`: the app's public origin, as the browser sees it. */
  readonly publicOrigin: string;
  /** `__Host-` prefix and `Secure` on cookies: whenever the public origin is https. */
  readonly secureCookies: boolean;
  readonly prompt: Prompt | undefined;
  readonly scopes: readonly string[];
  readonly responseMode: ResponseMode;
  readonly postLogoutRedirectUrl: string;
  /** Session keys' secrets: the first seals, all unseal. */
  readonly sessionSecrets: readonly string[];
  /** Absolute lifetime of a session from sign-in. */
  readonly sessionMaxAgeS: number;
  /** A session unused this long ends (`SESSION_IDLE_TIMEOUT_S`). */
  readonly sessionIdleTimeoutS: number;
  /** Where sessions live: sealed in the cookie, or in Redis with a handle in the cookie. */
  readonly sessionStore: SessionStoreKind;
  /** `REDIS_URL` (with `SESSION_STORE=redis`); may carry credentials, so it is never logged. */
  readonly redisUrl: string | undefined;
  /** `REDIS_CLUSTER=true`: `redisUrl` is a seed node of a Redis Cluster. */
  readonly redisCluster: boolean;
  /**
   * The routes under `/api` (`API_ROUTES`, else one route `/api` → `API_UPSTREAM_URL`), sorted by
   * prefix length, longest first: the first route whose prefix matches a path serves it.
   */
  readonly apiRoutes: readonly ApiRoute[];
  /**
   * The upstream URL of the `/api` route when there is one, else of `apiRoutes[0]` (the longest
   * prefix). Kept while code still proxies everything to one upstream; read `apiRoutes` instead.
   */
  readonly apiUpstreamUrl: string;
  /** `API_UPSTREAM_TIMEOUT_MS`: the timeout of a route that sets no `timeoutMs`. */
  readonly apiUpstreamTimeoutMs: number;
  /** Time allowed for each call to the IdP (discovery, token, userinfo, revocation). */
  readonly idpTimeoutMs: number;
  readonly port: number;
  readonly host: string | undefined;
  /** `METRICS_PORT`: Prometheus `/metrics` on a listener of its own; `undefined` → off. */
  readonly metricsPort: number | undefined;
  /** OpenTelemetry traces are exported (an OTLP endpoint is set in OpenTelemetry's own variables). */
  readonly tracingEnabled: boolean;
  /** `OTEL_SERVICE_NAME`, or this product's name. */
  readonly serviceName: string;
  /** `SHUTDOWN_TIMEOUT_S`: how long in-flight requests may finish after SIGTERM/SIGINT. */
  readonly shutdownTimeoutS: number;
  /** `TRUST_PROXY`: reverse-proxy hops whose `X-Forwarded-For` is believed; 0 → none (the socket address). */
  readonly trustProxyHops: number;
  /**
   * `RATE_LIMIT_LOGIN_PER_MIN`: per client address, how many `GET /auth/login` and front-channel
   * logout requests a minute are served; 0 → no limit.
   */
  readonly rateLimitLoginPerMin: number;
  readonly logLevel: string;
  /** Production: where the built SPA is (`STATIC_DIR`); `undefined` → the BFF's default. */
  readonly staticDir: string | undefined;
  /** Development only: the Vite dev server the BFF forwards page and asset requests to. */
  readonly viteDevUrl: string | undefined;
}

export interface ConfigProblem {
  readonly variable: string;
  readonly reason: string;
}

/**
 * Thrown at start-up when the environment is not a valid configuration. A `TypeError`, as a
 * programmer/operator error; `problems` holds every one, `message` lists them one per line.
 */
export class ConfigError extends TypeError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.reason}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
/** RFC 7515 §4.1.4 leaves `kid` free-form; this keeps it printable and short enough for a header. */
const KEY_ID = /^[\x21-\x7e]{1,256}$/;
const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent', 'login consent'];
const RESPONSE_MODES: readonly ResponseMode[] = ['query', 'form_post'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SESSION_SECRET_MIN_LENGTH = 32;
const DEFAULT_SCOPES = 'openid profile email offline_access';
const DEFAULT_SESSION_MAX_AGE_S = 8 * 60 * 60;
/** Okta's default idle session lifetime. */
const DEFAULT_SESSION_IDLE_TIMEOUT_S = 2 * 60 * 60;
const SESSION_STORES: readonly SessionStoreKind[] = ['cookie', 'redis'];
const DEFAULT_API_UPSTREAM_TIMEOUT_MS = 30_000;
const DEFAULT_IDP_TIMEOUT_MS = 10_000;
/** Logins a minute from one address: far above a person's, far below a flood's. */
const DEFAULT_RATE_LIMIT_LOGIN_PER_MIN = 30;
const DEFAULT_VITE_DEV_URL = 'http://localhost:5173';
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Parses and validates the BFF's environment. Development defaults to the embedded IdP and its
 * client and generates a per-run `SESSION_SECRET`; production defaults nothing secret.
 *
 * The mode is the caller's, never the environment's: only the development entry point
 * (`pnpm dev`) asks for it, so a `.env` that says `NODE_ENV=development` cannot turn on
 * development features (the diagnostics route serves the raw access token) under `pnpm start`.
 *
 * @throws {ConfigError} listing every bad or missing variable.
 */
export function loadBffConfig(env: Env, mode: RunMode = 'production'): BffConfig {
  const problems: ConfigProblem[] = [];
  const problem = (variable: string, reason: string) => problems.push({ variable, reason });
  const dev = mode === 'development';
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };

  const issuer = checkIssuer(env, dev, problem);
  // The dev IdP's public client credentials are a default only while talking to the dev IdP.
  const onDevIdp = dev && issuer?.value === DEV_IDP.issuer;

  const keyAuth = read('CLIENT_AUTH_METHOD') === 'private_key_jwt';
  const clientId =
    read('CLIENT_ID') ?? (onDevIdp ? (keyAuth ? DEV_IDP.secureClientId : DEV_IDP.clientId) : undefined);
  if (!clientId) problem('CLIENT_ID', 'is required: the client ID of your Okta web app');
  const clientAuthMethod = (read('CLIENT_AUTH_METHOD') ?? 'client_secret_basic') as ClientAuthMethod;
  if (!CLIENT_AUTH_METHODS.includes(clientAuthMethod)) {
    problem(
      'CLIENT_AUTH_METHOD',
      `must be "client_secret_basic", "client_secret_post" or "private_key_jwt"; got "${clientAuthMethod}"`,
    );
  }
  const usesSecret = clientAuthMethod !== 'private_key_jwt';
  const clientSecret = read('CLIENT_SECRET') ?? (onDevIdp && usesSecret ? DEV_IDP.clientSecret : undefined);
  if (!clientSecret && usesSecret)
    problem('CLIENT_SECRET', 'is required: the client secret of your Okta web app');
  const privateKeyValue = read('CLIENT_PRIVATE_KEY');
  const privateKeyId = read('CLIENT_PRIVATE_KEY_ID');
  if (privateKeyId !== undefined && clientAuthMethod !== 'private_key_jwt') {
    problem('CLIENT_PRIVATE_KEY_ID', 'is used only with CLIENT_AUTH_METHOD=private_key_jwt');
  } else if (privateKeyId !== undefined && !KEY_ID.test(privateKeyId)) {
    problem('CLIENT_PRIVATE_KEY_ID', 'must be 1 to 256 printable ASCII characters, without spaces');
  }
  let clientPrivateKey: ClientPrivateKey | undefined;
  if (clientAuthMethod === 'private_key_jwt') {
    if (!privateKeyValue) {
      problem(
        'CLIENT_PRIVATE_KEY',
        'is required with CLIENT_AUTH_METHOD=private_key_jwt: a private JWK (JSON) or a PKCS#8 PEM',
      );
    } else {
      const parsed = parseClientPrivateKey(privateKeyValue, privateKeyId);
      if (typeof parsed === 'string') problem('CLIENT_PRIVATE_KEY', parsed);
      else clientPrivateKey = parsed;
    }
  }
  const usePar = parseBoolean('OKTA_USE_PAR', read('OKTA_USE_PAR'), problem);
  const apiTokenType = (read('API_TOKEN_TYPE') ?? 'bearer') as ApiTokenType;
  if (apiTokenType !== 'bearer' && apiTokenType !== 'dpop') {
    problem('API_TOKEN_TYPE', `must be "bearer" or "dpop"; got "${apiTokenType}"`);
  }

  const redirect = parseHttpUrl('REDIRECT_URL', read('REDIRECT_URL') ?? DEFAULT_REDIRECT_URL, problem);
  if (redirect && redirect.pathname === '/') {
    problem('REDIRECT_URL', 'must have a path for the callback, e.g. /authorization-code/callback');
  }
  if (redirect?.search) problem('REDIRECT_URL', 'must not have a query string');

  const promptValue = read('OKTA_PROMPT');
  const prompt = promptValue === undefined ? undefined : parsePrompt(promptValue);
  if (promptValue !== undefined && !prompt) {
    problem('OKTA_PROMPT', `must be one of ${PROMPTS.map((p) => `"${p}"`).join(', ')}; got "${promptValue}"`);
  }

  const scopes = (read('OKTA_SCOPES') ?? DEFAULT_SCOPES).split(/\s+/);
  if (!scopes.includes('openid')) problem('OKTA_SCOPES', 'must include "openid"');
  const badScope = scopes.find((s) => !SCOPE_TOKEN.test(s));
  if (badScope !== undefined) problem('OKTA_SCOPES', `"${badScope}" is not a valid scope`);

  const responseMode = (read('OKTA_RESPONSE_MODE') ?? 'query') as ResponseMode;
  if (!RESPONSE_MODES.includes(responseMode)) {
    problem('OKTA_RESPONSE_MODE', `must be "query" or "form_post"; got "${responseMode}"`);
  }

  const postLogout = read('POST_LOGOUT_REDIRECT_URL');
  const postLogoutUrl = postLogout
    ? parseHttpUrl('POST_LOGOUT_REDIRECT_URL', postLogout, problem)
    : undefined;

  const sessionSecrets = checkSessionSecrets(read('SESSION_SECRET'), dev, problem);

  const port = parseInteger('PORT', read('PORT'), 8000, 1, 65_535, problem);
  const sessionMaxAgeS = parseInteger(
    'SESSION_MAX_AGE_S',
    read('SESSION_MAX_AGE_S'),
    DEFAULT_SESSION_MAX_AGE_S,
    60,
    400 * 24 * 60 * 60,
    problem,
  );
  const sessionIdleTimeoutS = parseInteger(
    'SESSION_IDLE_TIMEOUT_S',
    read('SESSION_IDLE_TIMEOUT_S'),
    DEFAULT_SESSION_IDLE_TIMEOUT_S,
    60,
    400 * 24 * 60 * 60,
    problem,
  );
  const sessionStore = (read('SESSION_STORE') ?? 'cookie') as SessionStoreKind;
  if (!SESSION_STORES.includes(sessionStore)) {
    problem('SESSION_STORE', `must be "cookie" or "redis"; got "${sessionStore}"`);
  }
  const redisUrl = checkRedisUrl(read('REDIS_URL'), sessionStore === 'redis', problem);
  const redisClusterValue = read('REDIS_CLUSTER') ?? 'false';
  if (redisClusterValue !== 'true' && redisClusterValue !== 'false') {
    problem('REDIS_CLUSTER', `must be "true" or "false"; got "${redisClusterValue}"`);
  }

  const apiUpstreamTimeoutMs = parseInteger(
    'API_UPSTREAM_TIMEOUT_MS',
    read('API_UPSTREAM_TIMEOUT_MS'),
    DEFAULT_API_UPSTREAM_TIMEOUT_MS,
    API_TIMEOUT_MIN_MS,
    API_TIMEOUT_MAX_MS,
    problem,
  );
  const apiRoutes = checkApiRoutes(
    read('API_ROUTES'),
    read('API_UPSTREAM_URL'),
    dev,
    apiUpstreamTimeoutMs,
    problem,
  );
  const idpTimeoutMs = parseInteger(
    'IDP_TIMEOUT_MS',
    read('IDP_TIMEOUT_MS'),
    DEFAULT_IDP_TIMEOUT_MS,
    100,
    120_000,
    problem,
  );

  const metricsValue = read('METRICS_PORT');
  const metricsPort =
    metricsValue === undefined
      ? undefined
      : parseInteger('METRICS_PORT', metricsValue, 0, 1, 65_535, problem);
  if (metricsPort !== undefined && metricsPort === port) {
    problem('METRICS_PORT', 'must differ from PORT: metrics are never served on the public listener');
  }
  const shutdownTimeoutS = parseInteger(
    'SHUTDOWN_TIMEOUT_S',
    read('SHUTDOWN_TIMEOUT_S'),
    10,
    0,
    3_600,
    problem,
  );
  const trustProxyHops = parseInteger('TRUST_PROXY', read('TRUST_PROXY'), 0, 0, 32, problem);
  const rateLimitLoginPerMin = parseInteger(
    'RATE_LIMIT_LOGIN_PER_MIN',
    read('RATE_LIMIT_LOGIN_PER_MIN'),
    DEFAULT_RATE_LIMIT_LOGIN_PER_MIN,
    0,
    1_000_000,
    problem,
  );
  // OpenTelemetry's SDK reads its own variables; this only decides whether to start it.
  const tracingEnabled =
    read('OTEL_SDK_DISABLED') !== 'true' &&
    read('OTEL_TRACES_EXPORTER') !== 'none' &&
    (read('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined ||
      read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined);

  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problem('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);

  let viteDevUrl: string | undefined;
  if (dev) {
    const vite = parseHttpUrl('VITE_DEV_URL', read('VITE_DEV_URL') ?? DEFAULT_VITE_DEV_URL, problem);
    viteDevUrl = vite?.origin;
  }

  const apiUpstream = apiRoutes.find((route) => route.prefix === '/api') ?? apiRoutes[0];
  if (
    problems.length > 0 ||
    !issuer ||
    !clientId ||
    (usesSecret && !clientSecret) ||
    !redirect ||
    !apiUpstream
  ) {
    throw new ConfigError(problems);
  }

  const publicOrigin = redirect.origin;
  return Object.freeze({
    mode,
    issuer: issuer.value,
    issuerIsLoopbackHttp: issuer.url.protocol === 'http:',
    clientId,
    clientSecret: usesSecret ? (clientSecret ?? '') : '',
    clientAuthMethod,
    clientPrivateKey,
    usePar,
    apiTokenType,
    redirectUrl: redirect.href,
    callbackPath: redirect.pathname,
    publicOrigin,
    secureCookies: redirect.protocol === 'https:',
    prompt,
    scopes: Object.freeze(scopes),
    responseMode,
    postLogoutRedirectUrl: postLogoutUrl?.href ?? `${publicOrigin}/`,
    sessionSecrets: Object.freeze(sessionSecrets),
    sessionMaxAgeS,
    sessionIdleTimeoutS,
    sessionStore,
    redisUrl,
    redisCluster: redisClusterValue === 'true',
    apiRoutes,
    apiUpstreamUrl: apiUpstream.upstreamUrl,
    apiUpstreamTimeoutMs,
    idpTimeoutMs,
    port,
    host: read('HOST'),
    metricsPort,
    tracingEnabled,
    serviceName: read('OTEL_SERVICE_NAME') ?? 'okta-bff',
    shutdownTimeoutS,
    trustProxyHops,
    rateLimitLoginPerMin,
    logLevel,
    staticDir: read('STATIC_DIR'),
    viteDevUrl,
  });
}

type Report = (variable: string, reason: string) => void;

function checkIssuer(env: Env, dev: boolean, problem: Report): { url: URL; value: string } | undefined {
  const variable = env.OKTA_ISSUER?.trim() ? 'OKTA_ISSUER' : 'OKTA_DOMAIN';
  const value = issuerFromEnv(env) ?? (dev ? DEV_IDP.issuer : undefined);
  if (!value) {
    problem(
      'OKTA_DOMAIN',
      'is required (e.g. dev-123456.okta.com), or set OKTA_ISSUER to the full issuer URL',
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem(variable, `"${value}" is not a valid URL or domain`);
    return undefined;
  }
  if (!isAllowedIssuerUrl(url)) {
    problem(variable, 'must use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)');
  }
  if (url.search || url.hash || url.username || url.password) {
    problem(variable, 'must not carry a query string, fragment or credentials');
  }
  return { url, value };
}

/**
 * The routes under `/api`: `API_ROUTES` when set (then `API_UPSTREAM_URL` must not be), else one
 * route `/api` → `API_UPSTREAM_URL` (default `http://localhost:8001`); in development with neither
 * set, the sample API's route table (`DEV_API_ROUTES`), parsed as if it had been given.
 */
function checkApiRoutes(
  routesValue: string | undefined,
  upstreamValue: string | undefined,
  dev: boolean,
  timeoutMs: number,
  problem: Report,
): readonly ApiRoute[] {
  if (routesValue !== undefined || (dev && upstreamValue === undefined)) {
    if (routesValue !== undefined && upstreamValue !== undefined) {
      problem('API_UPSTREAM_URL', 'set together with API_ROUTES; give that upstream a route instead');
    }
    return parseApiRoutes(routesValue ?? DEV_API_ROUTES, { defaultTimeoutMs: timeoutMs }, problem);
  }
  const upstream = parseHttpUrl('API_UPSTREAM_URL', upstreamValue ?? DEFAULT_API_UPSTREAM_URL, problem);
  if (!upstream) return Object.freeze([]);
  if (upstream.search || upstream.hash) {
    problem('API_UPSTREAM_URL', 'must not have a query string or fragment');
  }
  return Object.freeze([defaultApiRoute(normalizeUpstreamUrl(upstream), timeoutMs)]);
}

function checkSessionSecrets(value: string | undefined, dev: boolean, problem: Report): string[] {
  if (!value) {
    if (dev) return [randomBytes(32).toString('base64url')];
    problem('SESSION_SECRET', `is required: at least ${SESSION_SECRET_MIN_LENGTH} random characters`);
    return [];
  }
  const secrets = value.split(',').map((s) => s.trim());
  secrets.forEach((secret, i) => {
    if (secret.length < SESSION_SECRET_MIN_LENGTH) {
      const which = secrets.length > 1 ? `entry ${i + 1} ` : '';
      problem('SESSION_SECRET', `${which}must be at least ${SESSION_SECRET_MIN_LENGTH} characters`);
    }
  });
  return secrets;
}

function checkRedisUrl(value: string | undefined, required: boolean, problem: Report): string | undefined {
  if (!value) {
    if (required) problem('REDIS_URL', 'is required with SESSION_STORE=redis, e.g. redis://localhost:6379');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo the value: it may carry a password.
    problem('REDIS_URL', 'is not a valid URL (redis://[user:password@]host:port[/db] or rediss://)');
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    problem('REDIS_URL', 'must start with redis:// or rediss:// (TLS)');
  } else if (!url.hostname) {
    problem('REDIS_URL', 'must name a host');
  } else if (url.pathname && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    problem('REDIS_URL', 'may end only with a database number, e.g. /0');
  }
  return value;
}

function parseBoolean(variable: string, value: string | undefined, problem: Report): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  problem(variable, `must be "true" or "false"; got "${value.slice(0, 20)}"`);
  return false;
}

/**
 * `CLIENT_PRIVATE_KEY`: a private JWK as JSON (its \`alg\` is checked) or a PKCS#8 PEM (\`alg\`
 * from the key type). RS256 (RSA ≥ 2048 bits) or ES256 (P-256) only. The \`kid\` is `keyId`
 * (`CLIENT_PRIVATE_KEY_ID`, the one the IdP registered the key under), else the JWK's own; a PEM
 * without `keyId` has none, so its assertions carry no \`kid\` header and the IdP tries each of
 * the client's keys. Never a computed thumbprint: an IdP that generated the key pair (Okta can) or
 * registered it under another \`kid\` refuses an assertion naming a \`kid\` it does not know.
 * Returns the reason as a string when it is not such a key; never echoes the value.
 *
 * @see RFC 7515 §4.1.4 (`kid`); RFC 7523 §3
 */
export function parseClientPrivateKey(value: string, keyId?: string): ClientPrivateKey | string {
  let key: KeyObject;
  let given: Record<string, unknown> = {};
  try {
    if (value.startsWith('{')) {
      given = JSON.parse(value) as Record<string, unknown>;
      key = createPrivateKey({ key: given as JsonWebKeyInput['key'], format: 'jwk' });
    } else {
      key = createPrivateKey({ key: value.replace(/\\n/g, '\n'), format: 'pem' });
    }
  } catch {
    return value.startsWith('{')
      ? 'is not a private JWK (a public key, or missing private members?)'
      : 'is neither a private JWK (JSON) nor a PKCS#8 PEM private key';
  }
  const jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
  const alg =
    key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
      ? 'RS256'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? 'ES256'
        : undefined;
  if (!alg) return 'must be an RSA key of at least 2048 bits (RS256) or a P-256 EC key (ES256)';
  if (given.alg !== undefined && given.alg !== alg)
    return `says alg "${String(given.alg).slice(0, 10)}" but is a key for ${alg}`;
  const kid = keyId ?? (typeof given.kid === 'string' && given.kid ? given.kid : undefined);
  return Object.freeze({
    jwk: Object.freeze(kid === undefined ? { ...jwk, alg } : { ...jwk, kid, alg }),
    alg,
    kid,
  });
}

function parsePrompt(value: string): Prompt | undefined {
  const sorted = (s: string) => [...new Set(s.split(/\s+/))].sort().join(' ');
  const wanted = sorted(value);
  return PROMPTS.find((p) => sorted(p) === wanted);
}

function parseHttpUrl(variable: string, value: string, problem: Report): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem(variable, `"${value}" is not an absolute URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problem(variable, 'must be an http(s) URL');
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && variable !== 'API_UPSTREAM_URL') {
    problem(variable, 'must use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)');
  }
  if (url.hash || url.username || url.password) problem(variable, 'must not carry a fragment or credentials');
  return url;
}

function parseInteger(
  variable: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problem: Report,
): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problem(variable, `must be a whole number from ${min} to ${max}; got "${value}"`);
    return fallback;
  }
  return n;
}
