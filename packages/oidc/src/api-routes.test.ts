import { describe, expect, it } from 'vitest';
import { type ApiRoute, DEFAULT_ROUTE_NAME, defaultApiRoute, parseApiRoutes } from './api-routes.ts';
import { DEV_API_ROUTES } from './dev-defaults.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

/** Parses `value` (a string as given, anything else as its JSON); the problems as ConfigError prints them. */
function parse(value: unknown): { routes: readonly ApiRoute[]; lines: string[] } {
  const lines: string[] = [];
  const routes = parseApiRoutes(
    typeof value === 'string' ? value : JSON.stringify(value),
    { defaultTimeoutMs: DEFAULT_TIMEOUT_MS },
    (variable, reason) => lines.push(`${variable}: ${reason}`),
  );
  return { routes, lines };
}
const linesOf = (value: unknown) => parse(value).lines;
/** The problems of one route that is `ORDERS` with `overrides` (`undefined` drops a field). */
const routeLines = (overrides: Record<string, unknown>) => linesOf([{ ...ORDERS, ...overrides }]);

const ORDERS = { name: 'orders', prefix: '/api/orders', upstream: 'http://orders.internal:8080/v1' };

describe('parseApiRoutes: valid routes', () => {
  it('fills in the defaults: the user token, a required session, the default timeout, no websocket', () => {
    const { routes, lines } = parse([ORDERS]);
    expect(lines).toEqual([]);
    expect(routes).toEqual([
      {
        name: 'orders',
        prefix: '/api/orders',
        upstreamUrl: 'http://orders.internal:8080/v1',
        token: 'user',
        scopes: [],
        sessionRequired: true,
        timeoutMs: DEFAULT_TIMEOUT_MS,
        websocket: false,
        stepUp: undefined,
      },
    ]);
  });

  it('reads every field, and freezes the list, each route and its scopes', () => {
    const { routes, lines } = parse([
      {
        name: 'stats-2',
        prefix: '/api/stats',
        upstream: 'https://stats.example.com/',
        token: 'client',
        scopes: ['items:stats', 'items:read'],
        session: 'optional',
        timeoutMs: 5000,
        websocket: true,
      },
    ]);
    expect(lines).toEqual([]);
    expect(routes[0]).toEqual({
      name: 'stats-2',
      prefix: '/api/stats',
      upstreamUrl: 'https://stats.example.com/',
      token: 'client',
      scopes: ['items:stats', 'items:read'],
      sessionRequired: false,
      timeoutMs: 5000,
      websocket: true,
      stepUp: undefined,
    });
    expect(Object.isFrozen(routes)).toBe(true);
    expect(Object.isFrozen(routes[0])).toBe(true);
    expect(Object.isFrozen(routes[0]?.scopes)).toBe(true);
  });

  it('requires a session with "user" and with "client" unless optional; never with "user-optional" or "none"', () => {
    const policies = parse([
      { name: 'a', prefix: '/api/a', upstream: 'http://a', token: 'user' },
      { name: 'b', prefix: '/api/b', upstream: 'http://b', token: 'user-optional' },
      { name: 'c', prefix: '/api/c', upstream: 'http://c', token: 'client', scopes: ['x'] },
      {
        name: 'd',
        prefix: '/api/d',
        upstream: 'http://d',
        token: 'client',
        scopes: ['x'],
        session: 'required',
      },
      {
        name: 'e',
        prefix: '/api/e',
        upstream: 'http://e',
        token: 'client',
        scopes: ['x'],
        session: 'optional',
      },
      { name: 'f', prefix: '/api/f', upstream: 'http://f', token: 'none' },
    ]);
    expect(policies.lines).toEqual([]);
    expect(policies.routes.map((r) => [r.name, r.token, r.sessionRequired])).toEqual([
      ['a', 'user', true],
      ['b', 'user-optional', false],
      ['c', 'client', true],
      ['d', 'client', true],
      ['e', 'client', false],
      ['f', 'none', false],
    ]);
  });

  it('sorts the routes by prefix length, longest first, keeping the given order between equal lengths', () => {
    const { routes, lines } = parse([
      { name: 'root', prefix: '/api', upstream: 'http://root' },
      { name: 'bb', prefix: '/api/bb', upstream: 'http://bb' },
      { name: 'deep', prefix: '/api/aa/deep', upstream: 'http://deep' },
      { name: 'aa', prefix: '/api/aa', upstream: 'http://aa' },
    ]);
    expect(lines).toEqual([]);
    expect(routes.map((r) => r.prefix)).toEqual(['/api/aa/deep', '/api/bb', '/api/aa', '/api']);
  });

  it('normalizes the upstream URL: no trailing slash unless the path is /', () => {
    const upstreamOf = (upstream: string) => parse([{ ...ORDERS, upstream }]).routes[0]?.upstreamUrl;
    expect(upstreamOf('http://orders.internal:8080')).toBe('http://orders.internal:8080/');
    expect(upstreamOf('http://orders.internal:8080/')).toBe('http://orders.internal:8080/');
    expect(upstreamOf('http://orders.internal:8080/v1/')).toBe('http://orders.internal:8080/v1');
    expect(upstreamOf('HTTPS://Orders.Example.com:443/a/b')).toBe('https://orders.example.com/a/b');
  });

  it('accepts the prefix /api itself and every path character', () => {
    expect(routeLines({ prefix: '/api' })).toEqual([]);
    expect(routeLines({ prefix: "/api/a-b.c_d~e!f$g&h'i(j)k*l+m,n;o=p:q@r/V1" })).toEqual([]);
  });

  it('parses the development route table without a problem', () => {
    const { routes, lines } = parse(DEV_API_ROUTES);
    expect(lines).toEqual([]);
    expect(routes.map((r) => [r.name, r.prefix, r.token, r.websocket])).toEqual([
      ['public', '/api/public', 'none', false],
      ['items', '/api/items', 'user', false],
      ['stats', '/api/stats', 'client', false],
      ['live', '/api/live', 'user', true],
    ]);
  });
});

describe('parseApiRoutes: the value as a whole', () => {
  it.each([
    [
      '[{"name": "orders",]',
      'API_ROUTES: is not valid JSON; it must be a JSON list of routes, e.g. [{"name": "api", …}]',
    ],
    [{ name: 'orders' }, 'API_ROUTES: must be a JSON list of routes; got an object'],
    ['"http://orders"', 'API_ROUTES: must be a JSON list of routes; got "http://orders"'],
    ['42', 'API_ROUTES: must be a JSON list of routes; got 42'],
    [[], 'API_ROUTES: must list at least one route; got []'],
  ])('%o: one problem', (value, line) => {
    expect(parse(value)).toEqual({ routes: [], lines: [line] });
  });

  it('reports each entry that is not an object', () => {
    expect(linesOf([ORDERS, 'orders', null, [ORDERS], 7])).toEqual([
      'API_ROUTES[1]: must be an object (a route); got "orders"',
      'API_ROUTES[2]: must be an object (a route); got null',
      'API_ROUTES[3]: must be an object (a route); got a list',
      'API_ROUTES[4]: must be an object (a route); got 7',
    ]);
  });
});

describe('parseApiRoutes: each field', () => {
  it('requires name, prefix and upstream', () => {
    expect(linesOf([{}])).toEqual([
      "API_ROUTES[0].name: is required: the route's name in logs, metrics and traces ([a-z0-9-]+)",
      'API_ROUTES[0].prefix: is required: /api or a path under it, e.g. /api/orders',
      'API_ROUTES[0].upstream: is required: the upstream\'s base URL, e.g. "http://orders.internal:8080"',
    ]);
  });

  it('names the route by its index and, once its name is valid, by its name', () => {
    expect(routeLines({ upstream: 'ftp://x' })).toEqual([
      'API_ROUTES[0] (orders).upstream: must be an http: or https: URL; got "ftp://x"',
    ]);
    expect(linesOf([ORDERS, { name: 'Bad', prefix: '/api/x', upstream: 'ftp://x' }])).toEqual([
      'API_ROUTES[1].name: must be lowercase letters, digits and "-" only ([a-z0-9-]+); got "Bad"',
      'API_ROUTES[1].upstream: must be an http: or https: URL; got "ftp://x"',
    ]);
  });

  it.each([
    ['Orders', 'must be lowercase letters, digits and "-" only ([a-z0-9-]+); got "Orders"'],
    ['orders_v2', 'must be lowercase letters, digits and "-" only ([a-z0-9-]+); got "orders_v2"'],
    ['', 'must be lowercase letters, digits and "-" only ([a-z0-9-]+); got ""'],
    [12, 'must be a string; got 12'],
  ])('name %o', (name, reason) => {
    expect(routeLines({ name })).toEqual([`API_ROUTES[0].name: ${reason}`]);
  });

  it('refuses duplicate names and duplicate prefixes, naming the route that had it first', () => {
    expect(
      linesOf([
        ORDERS,
        { name: 'orders', prefix: '/api/orders2', upstream: 'http://b' },
        { name: 'other', prefix: '/api/orders', upstream: 'http://c' },
      ]),
    ).toEqual([
      'API_ROUTES[1] (orders).name: "orders" is also the name of API_ROUTES[0] (orders); names must be unique',
      'API_ROUTES[2] (other).prefix: "/api/orders" is also the prefix of API_ROUTES[0] (orders); prefixes must be unique',
    ]);
  });

  it.each([
    ['/v1/orders', ['must be /api or a path under it, e.g. /api/orders; got "/v1/orders"']],
    ['/apiorders', ['must be /api or a path under it, e.g. /api/orders; got "/apiorders"']],
    ['/API/orders', ['must be /api or a path under it, e.g. /api/orders; got "/API/orders"']],
    ['api/orders', ['must be /api or a path under it, e.g. /api/orders; got "api/orders"']],
    ['/api/', ['must not end with "/"; got "/api/"']],
    ['/api/orders/', ['must not end with "/"; got "/api/orders/"']],
    ['/api//orders', ['must not contain "//"; got "/api//orders"']],
    ['/api/./orders', ['must not contain "." or ".." segments; got "/api/./orders"']],
    ['/api/orders/..', ['must not contain "." or ".." segments; got "/api/orders/.."']],
    [
      '/api/orders%2F1',
      [`must not contain "%" (only letters, digits and -._~!$&'()*+,;=:@/); got "/api/orders%2F1"`],
    ],
    [
      '/api/orders?x',
      [`must not contain "?" (only letters, digits and -._~!$&'()*+,;=:@/); got "/api/orders?x"`],
    ],
    [
      '/api/orders#x',
      [`must not contain "#" (only letters, digits and -._~!$&'()*+,;=:@/); got "/api/orders#x"`],
    ],
    [
      '/api/a\\b',
      [`must not contain "\\\\" (only letters, digits and -._~!$&'()*+,;=:@/); got "/api/a\\\\b"`],
    ],
    [
      '/api/a b/é',
      [`must not contain " ", "é" (only letters, digits and -._~!$&'()*+,;=:@/); got "/api/a b/é"`],
    ],
    ['/api//x/', ['must not end with "/"; got "/api//x/"', 'must not contain "//"; got "/api//x/"']],
    [42, ['must be a string; got 42']],
  ])('prefix %o', (prefix, reasons) => {
    expect(routeLines({ prefix })).toEqual(reasons.map((r) => `API_ROUTES[0] (orders).prefix: ${r}`));
  });

  it.each([
    ['ftp://x', ['must be an http: or https: URL; got "ftp://x"']],
    ['ws://orders.internal', ['must be an http: or https: URL; got "ws://orders.internal"']],
    ['orders.internal:8080', ['must be an http: or https: URL; got "orders.internal:8080"']],
    ['/v1', ['must be an http: or https: URL; got "/v1"']],
    [
      'http://orders.internal/v1?key=1',
      ['must not have a query string; got "http://orders.internal/v1?key=1"'],
    ],
    ['http://orders.internal/v1?', ['must not have a query string; got "http://orders.internal/v1?"']],
    ['http://orders.internal/v1#top', ['must not have a fragment; got "http://orders.internal/v1#top"']],
    ['http://user:hunter2@orders.internal', ['must not carry credentials (user:password@)']],
    [
      'http://user:hunter2@orders.internal/?x#y',
      [
        'must not carry credentials (user:password@)',
        'must not have a query string; got "http://…@orders.internal/?x#y"',
        'must not have a fragment; got "http://…@orders.internal/?x#y"',
      ],
    ],
    ['ftp://user:hunter2@x', ['must be an http: or https: URL; got "ftp://…@x"']],
    [true, ['must be a string; got true']],
  ])('upstream %o', (upstream, reasons) => {
    expect(routeLines({ upstream })).toEqual(reasons.map((r) => `API_ROUTES[0] (orders).upstream: ${r}`));
  });

  it('allows http: upstreams on any host (internal services)', () => {
    expect(parse([{ ...ORDERS, upstream: 'http://10.1.2.3:9000/orders' }]).routes[0]?.upstreamUrl).toBe(
      'http://10.1.2.3:9000/orders',
    );
  });

  it.each([
    ['admin', 'must be "user", "user-optional", "client" or "none"; got "admin"'],
    ['User', 'must be "user", "user-optional", "client" or "none"; got "User"'],
    [null, 'must be "user", "user-optional", "client" or "none"; got null'],
  ])('token %o', (token, reason) => {
    expect(routeLines({ token })).toEqual([`API_ROUTES[0] (orders).token: ${reason}`]);
  });

  it.each([
    [{}, ['is required with "token": "client": the scopes to ask for, e.g. ["orders:read"]']],
    [{ scopes: [] }, ['must list at least one scope; got []']],
    [{ scopes: 'orders:read' }, ['must be a list of scopes, e.g. ["orders:read"]; got "orders:read"']],
    [
      { scopes: ['orders:read', 'two words', 7] },
      ['"two words" is not a valid scope', '7 is not a valid scope'],
    ],
  ])('scopes with "client": %o', (more, reasons) => {
    expect(routeLines({ token: 'client', ...more })).toEqual(
      reasons.map((r) => `API_ROUTES[0] (orders).scopes: ${r}`),
    );
  });

  it.each(['user', 'user-optional', 'none'])('scopes with "%s": a problem, even an empty list', (token) => {
    for (const scopes of [['orders:read'], []]) {
      expect(routeLines({ token, scopes })).toEqual([
        `API_ROUTES[0] (orders).scopes: is used only with "token": "client"; this route's token is "${token}"`,
      ]);
    }
  });

  it.each(['user', 'user-optional', 'none'])('session with "%s": a problem', (token) => {
    for (const session of ['required', 'optional']) {
      expect(routeLines({ token, session })).toEqual([
        `API_ROUTES[0] (orders).session: is used only with "token": "client"; this route's token is "${token}"`,
      ]);
    }
  });

  it('session with "client": "required" or "optional" only', () => {
    expect(routeLines({ token: 'client', scopes: ['x'], session: 'maybe' })).toEqual([
      'API_ROUTES[0] (orders).session: must be "required" or "optional"; got "maybe"',
    ]);
    expect(routeLines({ token: 'client', scopes: ['x'], session: false })).toEqual([
      'API_ROUTES[0] (orders).session: must be "required" or "optional"; got false',
    ]);
  });

  it.each([
    [99, 'must be a whole number from 100 to 600000; got 99'],
    [600_001, 'must be a whole number from 100 to 600000; got 600001'],
    [1500.5, 'must be a whole number from 100 to 600000; got 1500.5'],
    ['5000', 'must be a whole number from 100 to 600000; got "5000"'],
  ])('timeoutMs %o', (timeoutMs, reason) => {
    expect(routeLines({ timeoutMs })).toEqual([`API_ROUTES[0] (orders).timeoutMs: ${reason}`]);
  });

  it('timeoutMs at its bounds', () => {
    expect(parse([{ ...ORDERS, timeoutMs: 100 }]).routes[0]?.timeoutMs).toBe(100);
    expect(parse([{ ...ORDERS, timeoutMs: 600_000 }]).routes[0]?.timeoutMs).toBe(600_000);
  });

  it.each([
    ['yes', 'must be true or false; got "yes"'],
    [1, 'must be true or false; got 1'],
  ])('websocket %o', (websocket, reason) => {
    expect(routeLines({ websocket })).toEqual([`API_ROUTES[0] (orders).websocket: ${reason}`]);
  });

  it('refuses unknown fields, suggesting the field a typo was meant to be', () => {
    expect(
      routeLines({ tokne: 'none', Scopes: ['x'], timeout: 5, upstreamUrl: 'http://x', 'x y': 1 }),
    ).toEqual([
      'API_ROUTES[0] (orders).tokne: is not a route field; did you mean "token"?',
      'API_ROUTES[0] (orders).Scopes: is not a route field; did you mean "scopes"?',
      'API_ROUTES[0] (orders).timeout: is not a route field; did you mean "timeoutMs"?',
      'API_ROUTES[0] (orders).upstreamUrl: is not a route field (name, prefix, upstream, token, scopes, session, timeoutMs, websocket, stepUp)',
      'API_ROUTES[0] (orders)["x y"]: is not a route field (name, prefix, upstream, token, scopes, session, timeoutMs, websocket, stepUp)',
    ]);
    expect(
      linesOf('[{"name": "orders", "prefix": "/api/orders", "upstream": "http://x", "__proto__": {}}]'),
    ).toEqual([
      'API_ROUTES[0] (orders).__proto__: is not a route field (name, prefix, upstream, token, scopes, session, timeoutMs, websocket, stepUp)',
    ]);
  });
});

describe('parseApiRoutes: stepUp', () => {
  it.each([{ acrValues: ['urn:okta:loa:2fa:any'], maxAge: 300 }, { acrValues: ['phr'] }, { maxAge: 60 }])(
    'a valid %o: no problem',
    (stepUp) => {
      expect(routeLines({ stepUp })).toEqual([]);
    },
  );

  it.each(['none', 'user-optional'])('on a %s route, which has no session: a problem', (token) => {
    expect(routeLines({ token, stepUp: { maxAge: 60 } })).toEqual([
      `API_ROUTES[0] (orders).stepUp: requires a session, which "token": "${token}" does not; use "user" or "client"`,
    ]);
  });

  it.each([
    ['a string', 'mfa', ['.stepUp: must be an object, {"acrValues": [...], "maxAge": seconds}; got "mfa"']],
    ['nothing required', {}, ['.stepUp: must set acrValues (a non-empty list) or maxAge, or both']],
    [
      'an empty acrValues',
      { acrValues: [] },
      ['.stepUp: must set acrValues (a non-empty list) or maxAge, or both'],
    ],
    [
      'a bad acrValues',
      { acrValues: 'phr', maxAge: 60 },
      ['.stepUp.acrValues: must be a list of acr values; got "phr"'],
    ],
    [
      'a bad acr value',
      { acrValues: ['two words', ''] },
      [
        '.stepUp.acrValues: "two words" is not a valid acr value',
        '.stepUp.acrValues: "" is not a valid acr value',
      ],
    ],
    [
      'maxAge 0',
      { maxAge: 0 },
      ['.stepUp.maxAge: must be a whole number of seconds from 1 to 34560000; got 0'],
    ],
    [
      'maxAge as a string',
      { maxAge: '300' },
      ['.stepUp.maxAge: must be a whole number of seconds from 1 to 34560000; got "300"'],
    ],
    [
      'a misspelled field',
      { acrValues: ['phr'], maxage: 60 },
      ['.stepUp.maxage: is not a stepUp field; did you mean "maxAge"?'],
    ],
    [
      'an unknown field',
      { maxAge: 60, acr: ['phr'] },
      ['.stepUp.acr: is not a stepUp field (acrValues, maxAge)'],
    ],
  ])('%s: its shape problems', (_, stepUp, reasons) => {
    expect(routeLines({ stepUp })).toEqual(reasons.map((r) => `API_ROUTES[0] (orders)${r}`));
  });

  it('an optional session contradicts it', () => {
    expect(
      routeLines({ token: 'client', scopes: ['x'], session: 'optional', stepUp: { maxAge: 60 } }),
    ).toEqual(['API_ROUTES[0] (orders).session: "optional" contradicts stepUp, which requires a session']);
  });
});

describe('parseApiRoutes: several problems', () => {
  it('reports every problem of every route, in order, and returns none of the bad routes', () => {
    const { routes, lines } = parse([
      ORDERS,
      { name: 'Bad Name', prefix: '/api/x/', upstream: 'ftp://x', tokne: 'client' },
      'not a route',
      {
        name: 'orders',
        prefix: '/api/orders',
        upstream: 'http://o',
        token: 'none',
        scopes: ['a'],
        timeoutMs: 1,
      },
      { name: 'items', prefix: '/api/items', upstream: 'http://items' },
    ]);
    expect(lines).toEqual([
      'API_ROUTES[1].name: must be lowercase letters, digits and "-" only ([a-z0-9-]+); got "Bad Name"',
      'API_ROUTES[1].prefix: must not end with "/"; got "/api/x/"',
      'API_ROUTES[1].upstream: must be an http: or https: URL; got "ftp://x"',
      'API_ROUTES[1].tokne: is not a route field; did you mean "token"?',
      'API_ROUTES[2]: must be an object (a route); got "not a route"',
      'API_ROUTES[3] (orders).name: "orders" is also the name of API_ROUTES[0] (orders); names must be unique',
      'API_ROUTES[3] (orders).prefix: "/api/orders" is also the prefix of API_ROUTES[0] (orders); prefixes must be unique',
      'API_ROUTES[3] (orders).scopes: is used only with "token": "client"; this route\'s token is "none"',
      'API_ROUTES[3] (orders).timeoutMs: must be a whole number from 100 to 600000; got 1',
    ]);
    expect(routes.map((r) => r.name)).toEqual(['orders', 'items']);
  });

  it('cuts a long bad value short', () => {
    expect(routeLines({ name: 'x'.repeat(200).toUpperCase() })).toEqual([
      `API_ROUTES[0].name: must be lowercase letters, digits and "-" only ([a-z0-9-]+); got "${'X'.repeat(80)}…"`,
    ]);
  });
});

describe('defaultApiRoute', () => {
  it('is /api → the upstream with the user token and a required session', () => {
    const route = defaultApiRoute('http://localhost:8001/', 1234);
    expect(route).toEqual({
      name: DEFAULT_ROUTE_NAME,
      prefix: '/api',
      upstreamUrl: 'http://localhost:8001/',
      token: 'user',
      scopes: [],
      sessionRequired: true,
      timeoutMs: 1234,
      websocket: false,
      stepUp: undefined,
    });
    expect(Object.isFrozen(route)).toBe(true);
  });
});
