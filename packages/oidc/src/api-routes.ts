/**
 * `API_ROUTES`: which upstream serves which path under `/api`, and which token goes with it.
 * Parsed once at start-up by the config loader; the BFF's route table is built from the result.
 *
 * @see docs/configuration.md, "Routes"
 */

/** Which token a route's upstream requests carry. */
export type RouteTokenPolicy = 'user' | 'user-optional' | 'client' | 'none';

/** A route's required authentication (`stepUp`): the ID token's `acr` and `auth_time`. */
export interface StepUpRequirement {
  /** The `acr` values any one of which satisfies the route; empty: any `acr`. */
  readonly acrValues: readonly string[];
  /** The longest time since the user authenticated, in seconds; `undefined`: no limit. */
  readonly maxAgeS: number | undefined;
}

export interface ApiRoute {
  /** `[a-z0-9-]+`, unique: the route's name in logs, metrics and traces (never the path). */
  readonly name: string;
  /** `/api` or a path under it, no trailing slash, unique. */
  readonly prefix: string;
  /**
   * The upstream's base URL (`http:` or `https:`), may carry a path; normalized (`URL.href`), with
   * no trailing slash unless the path is `/` (`http://orders:8080/v1/` → `http://orders:8080/v1`,
   * `http://orders:8080` → `http://orders:8080/`). Never has credentials, a query or a fragment.
   * The route's prefix is replaced by this URL's path; `ws:`/`wss:` are derived from it.
   */
  readonly upstreamUrl: string;
  /** Which token upstream requests carry (`token`, default `user`). */
  readonly token: RouteTokenPolicy;
  /** With `token: "client"`: the scopes asked for; empty otherwise. */
  readonly scopes: readonly string[];
  /**
   * Whether a request without a session is refused (401 `unauthenticated`): always with `user`,
   * never with `user-optional` or `none`, with `client` unless `"session": "optional"`, and
   * always when `stepUp` is set.
   */
  readonly sessionRequired: boolean;
  /**
   * Wait for response headers, and the longest silence between body chunks, in milliseconds
   * (`timeoutMs`, default `API_UPSTREAM_TIMEOUT_MS`).
   */
  readonly timeoutMs: number;
  /** WebSocket upgrades are proxied on this route. */
  readonly websocket: boolean;
  /** Required authentication. Parsed, but refused at start-up: this version does not enforce it. */
  readonly stepUp: StepUpRequirement | undefined;
}

/** The route that `API_UPSTREAM_URL` alone stands for. */
export const DEFAULT_ROUTE_NAME = 'api';

/** Bounds of a route's `timeoutMs`, the same as `API_UPSTREAM_TIMEOUT_MS`'s. */
export const API_TIMEOUT_MIN_MS = 100;
export const API_TIMEOUT_MAX_MS = 600_000;
/** Bounds of `stepUp.maxAge`, in seconds: up to 400 days, as a session's lifetime. */
const STEP_UP_MAX_AGE_MIN_S = 1;
const STEP_UP_MAX_AGE_MAX_S = 400 * 24 * 60 * 60;

/** Reports one problem: `variable` names where (`API_ROUTES[2] (orders).upstream`), `reason` what. */
export type RouteProblem = (variable: string, reason: string) => void;

export interface ParseApiRoutesOptions {
  /** A route's `timeoutMs` when it sets none: `API_UPSTREAM_TIMEOUT_MS`. */
  readonly defaultTimeoutMs: number;
}

const VARIABLE = 'API_ROUTES';
const FIELDS = [
  'name',
  'prefix',
  'upstream',
  'token',
  'scopes',
  'session',
  'timeoutMs',
  'websocket',
  'stepUp',
] as const;
const STEP_UP_FIELDS = ['acrValues', 'maxAge'] as const;
const TOKEN_POLICIES: readonly RouteTokenPolicy[] = ['user', 'user-optional', 'client', 'none'];
const NAME = /^[a-z0-9-]+$/;
/** RFC 3986 `pchar` and `/`, without percent-encoding: what a prefix may be written with. */
const PREFIX_CHAR = /[A-Za-z0-9._~!$&'()*+,;=:@/-]/;
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** An `acr` value as `acr_values` carries it (space-separated): printable ASCII, no space. */
const ACR_VALUE = /^[\x21-\x7e]+$/;
/** The longest piece of a bad value a problem echoes. */
const SHOWN_MAX = 80;

/**
 * Parses `API_ROUTES` (a JSON list of routes) and validates every route, reporting each problem
 * through `problem` (one call per issue, all of them, not just the first): the variable is
 * `API_ROUTES` for the value as a whole, else `API_ROUTES[<index>]`, followed by ` (<name>)` when
 * the route has a valid name, then `.<field>` (e.g. `API_ROUTES[2] (orders).upstream`).
 *
 * Returns the routes sorted by prefix length, longest first (a stable sort; two prefixes of one
 * length never match the same path), so the first route that matches a path is the one that
 * serves it. Frozen, with every route frozen. After any problem the result is incomplete (a route
 * with a problem is left out) and must not be used.
 *
 * `stepUp` is validated and parsed, then always reported: this version does not enforce it, and
 * a silently ignored security setting would be worse than refusing to start.
 *
 * @see docs/configuration.md, "Routes"
 */
export function parseApiRoutes(
  value: string,
  options: ParseApiRoutesOptions,
  problem: RouteProblem,
): readonly ApiRoute[] {
  let list: unknown;
  try {
    list = JSON.parse(value);
  } catch {
    problem(VARIABLE, 'is not valid JSON; it must be a JSON list of routes, e.g. [{"name": "api", …}]');
    return Object.freeze([]);
  }
  if (!Array.isArray(list)) {
    problem(VARIABLE, `must be a JSON list of routes; got ${shown(list)}`);
    return Object.freeze([]);
  }
  if (list.length === 0) {
    problem(VARIABLE, 'must list at least one route; got []');
    return Object.freeze([]);
  }

  const routes: ApiRoute[] = [];
  const names = new Map<string, string>();
  const prefixes = new Map<string, string>();
  list.forEach((entry: unknown, index) => {
    if (!isObject(entry)) {
      problem(`${VARIABLE}[${index}]`, `must be an object (a route); got ${shown(entry)}`);
      return;
    }
    const field = (key: string): unknown => (Object.hasOwn(entry, key) ? entry[key] : undefined);
    const rawName = field('name');
    const label = `${VARIABLE}[${index}]${typeof rawName === 'string' && NAME.test(rawName) ? ` (${rawName})` : ''}`;
    let problems = 0;
    const say = (path: string, reason: string) => {
      problems++;
      problem(`${label}${path}`, reason);
    };

    const name = checkName(rawName, (reason) => say('.name', reason));
    if (name !== undefined) {
      const first = names.get(name);
      if (first) say('.name', `${JSON.stringify(name)} is also the name of ${first}; names must be unique`);
      else names.set(name, label);
    }
    const prefix = checkPrefix(field('prefix'), (reason) => say('.prefix', reason));
    if (prefix !== undefined) {
      const first = prefixes.get(prefix);
      if (first)
        say('.prefix', `${JSON.stringify(prefix)} is also the prefix of ${first}; prefixes must be unique`);
      else prefixes.set(prefix, label);
    }
    const upstreamUrl = checkUpstream(field('upstream'), (reason) => say('.upstream', reason));

    const tokenValue = field('token');
    let token: RouteTokenPolicy | undefined = 'user';
    if (tokenValue !== undefined) {
      token = TOKEN_POLICIES.find((policy) => policy === tokenValue);
      if (!token)
        say('.token', `must be "user", "user-optional", "client" or "none"; got ${shown(tokenValue)}`);
    }

    const scopesValue = field('scopes');
    let scopes: readonly string[] = [];
    if (token === 'client') {
      if (scopesValue === undefined) {
        say('.scopes', 'is required with "token": "client": the scopes to ask for, e.g. ["orders:read"]');
      } else {
        scopes = checkScopes(scopesValue, (reason) => say('.scopes', reason));
      }
    } else if (token !== undefined && scopesValue !== undefined) {
      say('.scopes', `is used only with "token": "client"; this route's token is "${token}"`);
    }

    const sessionValue = field('session');
    const stepUpValue = field('stepUp');
    let sessionOptional = token === 'user-optional' || token === 'none';
    if (token === 'client' && sessionValue !== undefined) {
      if (sessionValue === 'optional') sessionOptional = true;
      else if (sessionValue !== 'required')
        say('.session', `must be "required" or "optional"; got ${shown(sessionValue)}`);
      if (sessionValue === 'optional' && stepUpValue !== undefined)
        say('.session', '"optional" contradicts stepUp, which requires a session');
    } else if (token !== undefined && sessionValue !== undefined) {
      say('.session', `is used only with "token": "client"; this route's token is "${token}"`);
    }

    const timeoutValue = field('timeoutMs');
    let timeoutMs = options.defaultTimeoutMs;
    if (timeoutValue !== undefined) {
      if (
        typeof timeoutValue === 'number' &&
        Number.isSafeInteger(timeoutValue) &&
        timeoutValue >= API_TIMEOUT_MIN_MS &&
        timeoutValue <= API_TIMEOUT_MAX_MS
      ) {
        timeoutMs = timeoutValue;
      } else {
        say(
          '.timeoutMs',
          `must be a whole number from ${API_TIMEOUT_MIN_MS} to ${API_TIMEOUT_MAX_MS}; got ${shown(timeoutValue)}`,
        );
      }
    }

    const websocketValue = field('websocket');
    if (websocketValue !== undefined && typeof websocketValue !== 'boolean') {
      say('.websocket', `must be true or false; got ${shown(websocketValue)}`);
    }

    let stepUp: StepUpRequirement | undefined;
    if (stepUpValue !== undefined) {
      stepUp = checkStepUp(stepUpValue, say);
      if (token === 'none' || token === 'user-optional') {
        say('.stepUp', `requires a session, which "token": "${token}" does not; use "user" or "client"`);
      }
    }

    for (const key of Object.keys(entry)) {
      if ((FIELDS as readonly string[]).includes(key)) continue;
      say(fieldPath(key), unknownField(key, FIELDS, 'a route field'));
    }

    if (problems > 0 || name === undefined || prefix === undefined || upstreamUrl === undefined || !token)
      return;
    routes.push(
      Object.freeze({
        name,
        prefix,
        upstreamUrl,
        token,
        scopes: Object.freeze([...scopes]),
        sessionRequired: !sessionOptional || stepUp !== undefined,
        timeoutMs,
        websocket: websocketValue === true,
        stepUp,
      }),
    );
  });
  return Object.freeze(routes.sort((a, b) => b.prefix.length - a.prefix.length));
}

/**
 * The one route that `API_UPSTREAM_URL` alone stands for: `/api` → `upstreamUrl` (already
 * checked, and normalized with {@link normalizeUpstreamUrl}) with the user's token.
 */
export function defaultApiRoute(upstreamUrl: string, timeoutMs: number): ApiRoute {
  return Object.freeze({
    name: DEFAULT_ROUTE_NAME,
    prefix: '/api',
    upstreamUrl,
    token: 'user',
    scopes: Object.freeze([]),
    sessionRequired: true,
    timeoutMs,
    websocket: false,
    stepUp: undefined,
  });
}

/**
 * An upstream base URL as a route keeps it: `URL.href`, without the trailing slash unless the
 * path is `/` (the proxy appends the rest of the path after the base path).
 */
export function normalizeUpstreamUrl(url: URL): string {
  const { href, pathname } = url;
  return pathname !== '/' && pathname.endsWith('/') ? href.slice(0, -1) : href;
}

function checkName(value: unknown, say: (reason: string) => void): string | undefined {
  if (value === undefined) say("is required: the route's name in logs, metrics and traces ([a-z0-9-]+)");
  else if (typeof value !== 'string') say(`must be a string; got ${shown(value)}`);
  else if (!NAME.test(value))
    say(`must be lowercase letters, digits and "-" only ([a-z0-9-]+); got ${shown(value)}`);
  else return value;
  return undefined;
}

function checkPrefix(value: unknown, say: (reason: string) => void): string | undefined {
  if (value === undefined) {
    say('is required: /api or a path under it, e.g. /api/orders');
    return undefined;
  }
  if (typeof value !== 'string') {
    say(`must be a string; got ${shown(value)}`);
    return undefined;
  }
  let bad = 0;
  const fail = (reason: string) => {
    bad++;
    say(`${reason}; got ${shown(value)}`);
  };
  if (value !== '/api' && !value.startsWith('/api/'))
    fail('must be /api or a path under it, e.g. /api/orders');
  if (value.length > 1 && value.endsWith('/')) fail('must not end with "/"');
  if (value.includes('//')) fail('must not contain "//"');
  if (value.split('/').some((segment) => segment === '.' || segment === '..'))
    fail('must not contain "." or ".." segments');
  const others = [...new Set(value)].filter((c) => !PREFIX_CHAR.test(c));
  if (others.length > 0) {
    fail(
      `must not contain ${others.map((c) => JSON.stringify(c)).join(', ')} (only letters, digits and -._~!$&'()*+,;=:@/)`,
    );
  }
  return bad === 0 ? value : undefined;
}

function checkUpstream(value: unknown, say: (reason: string) => void): string | undefined {
  if (value === undefined) {
    say('is required: the upstream\'s base URL, e.g. "http://orders.internal:8080"');
    return undefined;
  }
  if (typeof value !== 'string') {
    say(`must be a string; got ${shown(value)}`);
    return undefined;
  }
  // Echoed without credentials: an upstream URL should carry none, but one written with some must not leak.
  const echo = shown(value.replace(/\/\/[^/?#]*@/, '//…@'));
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    say(`must be an http: or https: URL; got ${echo}`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    say(`must be an http: or https: URL; got ${echo}`);
    return undefined;
  }
  let ok = true;
  if (url.username || url.password) {
    ok = false;
    say('must not carry credentials (user:password@)');
  }
  const [beforeHash = ''] = url.href.split('#');
  if (beforeHash.includes('?')) {
    ok = false;
    say(`must not have a query string; got ${echo}`);
  }
  if (url.href.includes('#')) {
    ok = false;
    say(`must not have a fragment; got ${echo}`);
  }
  return ok ? normalizeUpstreamUrl(url) : undefined;
}

function checkScopes(value: unknown, say: (reason: string) => void): readonly string[] {
  if (!Array.isArray(value)) {
    say(`must be a list of scopes, e.g. ["orders:read"]; got ${shown(value)}`);
    return [];
  }
  if (value.length === 0) {
    say('must list at least one scope; got []');
    return [];
  }
  const scopes: string[] = [];
  for (const scope of value) {
    if (typeof scope === 'string' && SCOPE_TOKEN.test(scope)) scopes.push(scope);
    else say(`${shown(scope)} is not a valid scope`);
  }
  return scopes;
}

function checkStepUp(
  value: unknown,
  say: (path: string, reason: string) => void,
): StepUpRequirement | undefined {
  if (!isObject(value)) {
    say('.stepUp', `must be an object, {"acrValues": [...], "maxAge": seconds}; got ${shown(value)}`);
    return undefined;
  }
  const field = (key: string): unknown => (Object.hasOwn(value, key) ? value[key] : undefined);
  let ok = true;
  const fail = (path: string, reason: string) => {
    ok = false;
    say(path, reason);
  };
  const acrValue = field('acrValues');
  const acrValues: string[] = [];
  if (acrValue !== undefined) {
    if (!Array.isArray(acrValue)) {
      fail('.stepUp.acrValues', `must be a list of acr values; got ${shown(acrValue)}`);
    } else {
      for (const acr of acrValue) {
        if (typeof acr === 'string' && ACR_VALUE.test(acr)) acrValues.push(acr);
        else fail('.stepUp.acrValues', `${shown(acr)} is not a valid acr value`);
      }
    }
  }
  const maxAgeValue = field('maxAge');
  let maxAgeS: number | undefined;
  if (maxAgeValue !== undefined) {
    if (
      typeof maxAgeValue === 'number' &&
      Number.isSafeInteger(maxAgeValue) &&
      maxAgeValue >= STEP_UP_MAX_AGE_MIN_S &&
      maxAgeValue <= STEP_UP_MAX_AGE_MAX_S
    ) {
      maxAgeS = maxAgeValue;
    } else {
      fail(
        '.stepUp.maxAge',
        `must be a whole number of seconds from ${STEP_UP_MAX_AGE_MIN_S} to ${STEP_UP_MAX_AGE_MAX_S}; got ${shown(maxAgeValue)}`,
      );
    }
  }
  for (const key of Object.keys(value)) {
    if ((STEP_UP_FIELDS as readonly string[]).includes(key)) continue;
    fail(`.stepUp${fieldPath(key)}`, unknownField(key, STEP_UP_FIELDS, 'a stepUp field'));
  }
  if (ok && acrValues.length === 0 && maxAgeS === undefined) {
    fail('.stepUp', 'must set acrValues (a non-empty list) or maxAge, or both');
  }
  return ok ? Object.freeze({ acrValues: Object.freeze(acrValues), maxAgeS }) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `.key`, or `["key"]` for a key that is not a plain identifier. */
function fieldPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${shown(key)}]`;
}

function unknownField(key: string, known: readonly string[], what: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined
    ? `is not ${what} (${known.join(', ')})`
    : `is not ${what}; did you mean "${best}"?`;
}

/** Levenshtein distance, counting a swap of two neighbours as one edit (`tokne` → `token`). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** A bad value as a problem shows it: strings quoted (and cut short), lists and objects by kind. */
function shown(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > SHOWN_MAX ? `${value.slice(0, SHOWN_MAX)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
