/**
 * The `API_ROUTES` tables of the routed-API scenarios (docs/configuration.md, "Routes"): a BFF
 * with ten routes whose load hits the one its lookup reaches last, a BFF whose one route sends
 * its own client-credentials token, and a BFF with a WebSocket route.
 */

/** One `API_ROUTES` entry, as written in the variable. */
export interface RouteEntry {
  readonly name: string;
  readonly prefix: string;
  readonly upstream: string;
  readonly token?: 'user' | 'user-optional' | 'client' | 'none';
  readonly scopes?: readonly string[];
  readonly session?: 'required' | 'optional';
  readonly timeoutMs?: number;
  readonly websocket?: boolean;
}

/** The route the 10-route BFF's load (`/api/items`, `/api/echo`) hits. */
export const TEN_ROUTES_LOAD_ROUTE = 'api';
/** The scope of the client-token route: the dev IdP's custom scope (`CUSTOM_SCOPES`). */
export const CLIENT_ROUTE_SCOPE = 'items:stats';
/** The path of the WebSocket route: `/api/live/…` goes to the ws upstream's `/…`. */
export const WEBSOCKET_PREFIX = '/api/live';

/**
 * Ten routes, listed in no particular order: nine decoys on paths an app of this shape would have,
 * and `/api` itself (the catch-all, to the bench upstream with the user's token) sixth in the list.
 * The BFF matches the longest prefix first, so `/api/items` is compared with every decoy before
 * `/api` serves it: the most prefixes a lookup among ten routes can try. Three of the decoys begin
 * like the load's path: `/api/item` matches as a string and is refused only at the boundary check
 * (the next character is `s`, not `/`), `/api/items-archive` and `/api/items/export` are longer than
 * it. The decoys point at the bench upstream under other paths (never requested) and use each token
 * policy but `client`, whose cache would otherwise need a token at start-up.
 */
export function tenRoutes(upstreamUrl: string): RouteEntry[] {
  return [
    { name: 'orders', prefix: '/api/orders', upstream: `${upstreamUrl}/orders` },
    {
      name: 'orders-export',
      prefix: '/api/orders/export',
      upstream: `${upstreamUrl}/orders/export`,
      timeoutMs: 60_000,
    },
    { name: 'customers', prefix: '/api/customers', upstream: `${upstreamUrl}/customers` },
    { name: 'item', prefix: '/api/item', upstream: `${upstreamUrl}/item` },
    { name: 'items-archive', prefix: '/api/items-archive', upstream: `${upstreamUrl}/archive` },
    { name: TEN_ROUTES_LOAD_ROUTE, prefix: '/api', upstream: upstreamUrl },
    {
      name: 'items-export',
      prefix: '/api/items/export',
      upstream: `${upstreamUrl}/export`,
      timeoutMs: 60_000,
    },
    { name: 'notices', prefix: '/api/public/notices', upstream: `${upstreamUrl}/notices`, token: 'none' },
    { name: 'search', prefix: '/api/search', upstream: `${upstreamUrl}/search`, token: 'user-optional' },
    { name: 'inventory', prefix: '/api/inventory', upstream: `${upstreamUrl}/inventory` },
  ];
}

/**
 * One route, `/api` → the bench upstream, with the BFF's own client-credentials token for
 * {@link CLIENT_ROUTE_SCOPE}; a session is required (the default for `client`), so the load
 * carries the session cookie as for the user-token BFF, and only the token differs.
 */
export function clientTokenRoutes(upstreamUrl: string): RouteEntry[] {
  return [
    { name: 'stats', prefix: '/api', upstream: upstreamUrl, token: 'client', scopes: [CLIENT_ROUTE_SCOPE] },
  ];
}

/**
 * `/api` → the bench's HTTP upstream (user token), and {@link WEBSOCKET_PREFIX} → the ws upstream
 * (`ws://` of its `http://` URL) with `"websocket": true` and the user's token.
 */
export function webSocketRoutes(upstreamUrl: string, wsUpstreamUrl: string): RouteEntry[] {
  return [
    { name: 'api', prefix: '/api', upstream: upstreamUrl },
    { name: 'live', prefix: WEBSOCKET_PREFIX, upstream: wsUpstreamUrl, websocket: true },
  ];
}

/** How many routes a lookup compares `path` with, in the BFF's order (longest prefix first), up to its match. */
export function prefixesTried(routes: readonly RouteEntry[], path: string): number {
  const ordered = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  const at = ordered.findIndex((route) => path === route.prefix || path.startsWith(`${route.prefix}/`));
  return at < 0 ? ordered.length : at + 1;
}
