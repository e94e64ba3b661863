/**
 * The sample API's configuration: read from the environment once, at start-up, every problem
 * collected and reported together (docs/configuration.md). The only module that touches `process.env`.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import {
  ConfigError,
  type ConfigProblem,
  DEV_IDP,
  type Env,
  isAllowedIssuerUrl,
  issuerFromEnv,
} from '@okta-bff/oidc';

/** The API's validated, frozen settings. */
export interface ApiConfig {
  readonly mode: 'development' | 'production';
  /** Accepted `iss`; tokens from any other issuer are refused. */
  readonly issuer: string;
  /** Accepted `aud`. */
  readonly audience: string;
  readonly port: number;
  /**
   * `API_PUBLIC_URL`: the API's base URL as its clients call it (no trailing slash), against
   * which DPoP proofs' `htu` is checked; `undefined`: the URL each request was sent to.
   */
  readonly publicUrl: string | undefined;
  /** `API_DPOP_NONCE=true`: DPoP proofs must carry a server nonce (RFC 9449 §9). */
  readonly dpopNonce: boolean;
}

export const DEFAULT_API_PORT = 8001;
/** Okta's default custom authorization server issues access tokens for this audience. */
export const DEFAULT_API_AUDIENCE = DEV_IDP.audience;

/** The repository root's `.env`: `src/` and the bundled `dist/` are both two levels below the root. */
export const ROOT_DOTENV_URL = new URL('../../../.env', import.meta.url);

/**
 * Loads `.env` (the tutorial's file) into `env` when the file exists. The real environment wins:
 * only keys not already set are filled, so a deployment can always override the file.
 * Returns whether a file was read.
 */
export function loadDotEnv(
  path: string | URL = ROOT_DOTENV_URL,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // No .env is the normal case in production (configuration by environment alone).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined && value !== undefined) env[key] = value;
  }
  return true;
}

/**
 * Parses and validates the API's environment: `OKTA_ISSUER` or `OKTA_DOMAIN` (the embedded dev
 * IdP's issuer when `NODE_ENV=development` and neither is set), `API_AUDIENCE`, `API_PORT`,
 * `API_PUBLIC_URL` (optional), `API_DPOP_NONCE` (`true`/`false`, default `false`).
 *
 * @throws {ConfigError} listing every bad or missing variable, one per line.
 * @see https://developer.okta.com/docs/concepts/auth-servers/ (issuer URLs of Okta's authorization servers)
 */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const problems: ConfigProblem[] = [];
  const problem = (variable: string, reason: string) => problems.push({ variable, reason });
  const mode = env.NODE_ENV === 'development' ? 'development' : 'production';
  const read = (name: string) => env[name]?.trim() || undefined;

  const issuer = checkIssuer(env, mode, problem);

  const audience = read('API_AUDIENCE') ?? DEFAULT_API_AUDIENCE;

  const portText = read('API_PORT');
  const port = portText === undefined ? DEFAULT_API_PORT : Number(portText);
  if (!/^\d{1,5}$/.test(portText ?? String(DEFAULT_API_PORT)) || port < 1 || port > 65_535) {
    problem('API_PORT', `must be a port number from 1 to 65535; got "${portText}"`);
  }

  const publicUrl = checkPublicUrl(read('API_PUBLIC_URL'), problem);

  const dpopNonceText = read('API_DPOP_NONCE') ?? 'false';
  if (dpopNonceText !== 'true' && dpopNonceText !== 'false') {
    problem('API_DPOP_NONCE', `must be "true" or "false"; got "${dpopNonceText}"`);
  }

  if (problems.length > 0 || issuer === undefined) throw new ConfigError(problems);
  return Object.freeze({ mode, issuer, audience, port, publicUrl, dpopNonce: dpopNonceText === 'true' });
}

/**
 * `API_PUBLIC_URL`, without its trailing slash, or `undefined` when unset or after recording why
 * it is unusable. Plain http is allowed for any host: it is where the BFF reaches the API,
 * often a private network, and nothing secret is derived from it.
 */
function checkPublicUrl(
  value: string | undefined,
  problem: (variable: string, reason: string) => void,
): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value)) {
    problem('API_PUBLIC_URL', `is not a URL: "${value}"`);
    return undefined;
  }
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problem('API_PUBLIC_URL', `must be an http or https URL; got "${value}"`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password || value.includes('?') || value.includes('#')) {
    problem('API_PUBLIC_URL', 'must not contain a query, fragment or credentials');
    return undefined;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The issuer, or `undefined` after recording why it is unusable. */
function checkIssuer(
  env: Env,
  mode: ApiConfig['mode'],
  problem: (variable: string, reason: string) => void,
): string | undefined {
  // Name the variable the operator actually set, so the message points at the right line of .env.
  const variable = env.OKTA_ISSUER?.trim() ? 'OKTA_ISSUER' : 'OKTA_DOMAIN';
  const issuer = issuerFromEnv(env) ?? (mode === 'development' ? DEV_IDP.issuer : undefined);
  if (issuer === undefined) {
    problem(
      'OKTA_ISSUER',
      'is required (or OKTA_DOMAIN): the Okta authorization server whose tokens are accepted',
    );
    return undefined;
  }
  if (!URL.canParse(issuer)) {
    problem(variable, `is not a URL: "${issuer}"`);
    return undefined;
  }
  const url = new URL(issuer);
  if (!isAllowedIssuerUrl(url)) {
    problem(variable, `must be https (http only for localhost, 127.0.0.0/8, ::1); got "${issuer}"`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    problem(variable, 'must not contain a query, fragment or credentials');
    return undefined;
  }
  return issuer;
}
