import http from 'node:http';
import https from 'node:https';
import type { ApiRoute } from '@okta-bff/oidc';
import type { Attributes } from '@opentelemetry/api';
import { serverAttributes } from '../ops/tracing.ts';
import { createUpstreamClock, type UpstreamClock } from './upstream-clock.ts';

/**
 * A route's upstream, prepared once at start-up: its connection pool, its timeout clock, and what
 * every request to it repeats (the URL's parts, the client span's server attributes, the server
 * span's route attributes). The only state that changes is the API's latest DPoP nonce.
 */
export interface Upstream {
  readonly route: ApiRoute;
  readonly url: URL;
  /**
   * The URL's parts, read once: a `URL`'s getters build a new string at every read, which the
   * hot path would otherwise pay several times per request.
   */
  readonly origin: string;
  readonly protocol: string;
  readonly host: string;
  readonly hostname: string;
  readonly port: string;
  /** The base path that replaces the route's prefix (`/` when the URL has none). */
  readonly basePath: string;
  readonly transport: typeof http | typeof https;
  readonly agent: http.Agent;
  readonly clock: UpstreamClock;
  /** `server.address`, `server.port` of the client spans. */
  readonly serverAttributes: Attributes;
  /** The server span's own attributes on this route. */
  readonly spanAttributes: Attributes;
  /** `http.route` of the server span: the route's prefix (the template of every path it serves), never the raw path. */
  readonly httpRoute: string;
  /** The API's latest DPoP nonce (RFC 9449 §9), sent in the next proofs to it. */
  dpopNonce: string | undefined;
}

/**
 * Upstream connections per route: far above what the BFF's own sessions need at once (each
 * holds at most `MAX_IN_FLIGHT_PER_SESSION`), and a bound on what one route can take of the
 * upstream's connections.
 */
const MAX_SOCKETS_PER_ROUTE = 512;

export function prepareUpstream(route: ApiRoute): Upstream {
  const url = new URL(route.upstreamUrl);
  const transport = url.protocol === 'https:' ? https : http;
  return {
    route,
    url,
    origin: url.origin,
    protocol: url.protocol,
    host: url.host,
    hostname: url.hostname,
    port: url.port,
    basePath: url.pathname,
    transport,
    agent: new transport.Agent({
      keepAlive: true,
      maxSockets: MAX_SOCKETS_PER_ROUTE,
      maxFreeSockets: 64,
      scheduling: 'lifo',
    }),
    clock: createUpstreamClock(route.timeoutMs),
    serverAttributes: serverAttributes(url),
    spanAttributes: { 'bff.route_group': 'api', 'bff.route': route.name },
    httpRoute: route.prefix,
    dpopNonce: undefined,
  };
}
