import type { ApiRoute } from '@okta-bff/oidc';

/**
 * Which `API_ROUTES` entry serves a path under `/api`: the longest prefix that the path equals or
 * continues with `/` (`/api/orders` serves `/api/orders` and `/api/orders/7`, never
 * `/api/ordersx`). The routes come from configuration, so the table is fixed for the process.
 */
export interface RouteMatch {
  readonly route: ApiRoute;
  /** The rest of the path after the prefix, as sent (still percent-encoded): `''` or `/…`. */
  readonly rest: string;
}

export interface RouteTable {
  readonly routes: readonly ApiRoute[];
  /** The route for `path` (no query string), or `undefined`: 404 `no_route`. */
  match(path: string): RouteMatch | undefined;
}

/**
 * A linear scan, longest prefix first: with the handful of routes a BFF has, one `startsWith`
 * per route costs less than building a trie's lookups (bench/FINDINGS.md, "10 routes").
 */
export function createRouteTable(routes: readonly ApiRoute[]): RouteTable {
  const ordered = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  const prefixes = ordered.map((route) => route.prefix);
  return {
    routes: ordered,
    match(path) {
      for (let i = 0; i < prefixes.length; i++) {
        const prefix = prefixes[i] as string;
        if (!path.startsWith(prefix)) continue;
        if (path.length !== prefix.length && path.charCodeAt(prefix.length) !== 47 /* '/' */) continue;
        return { route: ordered[i] as ApiRoute, rest: path.slice(prefix.length) };
      }
      return undefined;
    },
  };
}
