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
  /** The upstream's base URL (`http:` or `https:`), may carry a path; normalized (`URL.href`). */
  readonly upstreamUrl: string;
  readonly token: RouteTokenPolicy;
  /** With `token: "client"`: the scopes asked for; empty otherwise. */
  readonly scopes: readonly string[];
  /** Whether a request without a session is refused (401 `unauthenticated`). */
  readonly sessionRequired: boolean;
  /** Wait for response headers, and the longest silence between body chunks. */
  readonly timeoutMs: number;
  /** WebSocket upgrades are proxied on this route. */
  readonly websocket: boolean;
  readonly stepUp: StepUpRequirement | undefined;
}

/** The route that `API_UPSTREAM_URL` alone stands for. */
export const DEFAULT_ROUTE_NAME = 'api';
