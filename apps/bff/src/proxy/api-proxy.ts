import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiAdmissionContext, admitApiRequest } from '../auth/api-admission.ts';
import { clientAddress } from '../http/client-address.ts';
import { parseCookieHeader, serializeCookie } from '../http/cookie-header.ts';
import { rateKeyOf } from '../http/rate-limit.ts';
import { type RequestRecorder, requestIdFrom } from '../http/request-log.ts';
import { describeError, type Logger } from '../logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { type ServerSpan, startServerSpan, type Tracing } from '../ops/tracing.ts';
import { type ExchangeShared, startExchange } from './api-exchange.ts';
import { createProofKeyCache, readReplayableBody } from './dpop-upstream.ts';
import { API_PREFIX, parseApiRequest } from './parse-request.ts';
import type { RouteTable } from './route-table.ts';
import { prepareUpstream, type Upstream } from './upstream.ts';
import { buildUpstreamRequest } from './upstream-request.ts';

export { API_PREFIX, isApiRequest } from './parse-request.ts';

/**
 * `/api/<path>`: forwards the SPA's calls to the upstream of the `API_ROUTES` entry that serves
 * the path, with the token the route's policy gives, once the admission action has let the
 * request through. One request is a sequence of steps, each its own function:
 *
 * 1. parse (`parse-request.ts`): method, framing, path and query;
 * 2. route (`route-table.ts`): the longest prefix;
 * 3. admit (`auth/api-admission.ts`): anti-forgery rule, `no_route`, session and token policy;
 * 4. build (`upstream-request.ts`): the upstream path (escapes refused) and authorization;
 * 5. exchange (`api-exchange.ts`): send, one DPoP-nonce retry, clocks, spans and metrics;
 * 6. respond (`api-response.ts`): the status, the filtered headers and the streamed body, or our
 *    own error, or a step-up the upstream asked for.
 *
 * A plain `node:http` handler, not a Hono route: it is the hot path, and piping Node streams
 * both ways over a keep-alive pool avoids converting every request and response to and from Web
 * streams (bench/FINDINGS.md). It shares the cookie parser, the anti-forgery rule, the request
 * id, the request's end (log line and metrics) and the JSON error writer with the Hono routes.
 *
 * @see docs/http-contract.md, "/api"
 */

/**
 * Upstream requests one session may have in flight at once: far above what an SPA sends (a
 * browser opens six connections to an origin over HTTP/1.1; the benchmark drives 50 through one
 * session), far below a route's pool (512 sockets). Without it, one signed-in user trickling
 * request bodies could hold every pooled upstream connection and stall everyone else's API
 * calls. Requests without a session are counted per client address. Past it: 429
 * `rate_limited` with `Retry-After: 1`, nothing forwarded.
 */
export const MAX_IN_FLIGHT_PER_SESSION = 64;

export interface ApiProxyOptions {
  readonly routes: RouteTable;
  readonly logger: Logger;
  readonly auth: ApiAdmissionContext;
  readonly recordRequest: RequestRecorder;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** `TRUST_PROXY`: hops whose `X-Forwarded-For` is believed. */
  readonly trustProxyHops: number;
}

const headerValue = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
/** The server span's attributes before routing has found the route. */
const API_SPAN_ATTRIBUTES = { 'bff.route_group': 'api' } as const;

export function createApiProxy(options: ApiProxyOptions) {
  const { routes, logger, auth, recordRequest, metrics, tracing, trustProxyHops } = options;
  const upstreams = new Map<string, Upstream>(
    routes.routes.map((route) => [route.name, prepareUpstream(route)]),
  );
  const proofKeyFor = createProofKeyCache();
  const publicUrl = new URL(auth.config.publicOrigin);
  /** Upstream requests in flight per session id: an entry exists only while one is open. */
  const inFlightBySession = new Map<string, number>();
  const shared: ExchangeShared = {
    logger,
    metrics,
    tracing,
    recordRequest,
    forwardedProto: publicUrl.protocol.slice(0, -1),
    forwardedHost: publicUrl.host,
    stepUps: auth.stepUps,
    publicOrigin: auth.config.publicOrigin,
    nowS: () => (auth.nowMs?.() ?? Date.now()) / 1000,
    releaseSlot(sid) {
      const open = (inFlightBySession.get(sid) ?? 1) - 1;
      if (open > 0) inFlightBySession.set(sid, open);
      else inFlightBySession.delete(sid);
    },
  };

  async function apiProxy(
    req: IncomingMessage,
    res: ServerResponse,
    traced: ServerSpan | undefined,
  ): Promise<void> {
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxyHops);
    const exchange = startExchange(
      req,
      res,
      requestIdFrom(req.headers['x-request-id']),
      address,
      traced,
      shared,
    );

    const parsed = parseApiRequest(req);
    if (!parsed.ok) return exchange.fail(parsed.code, parsed.message, parsed.headers);
    exchange.path = parsed.path;

    const match = routes.match(parsed.path);
    const upstream = match && upstreams.get(match.route.name);
    if (upstream) {
      exchange.routeName = upstream.route.name;
      exchange.httpRoute = upstream.httpRoute;
      if (traced?.span.isRecording()) traced.span.setAttributes(upstream.spanAttributes);
    }

    const admission = await admitApiRequest(
      auth,
      {
        requestId: exchange.requestId,
        cookies: parseCookieHeader(req.headers.cookie),
        origin: {
          csrf: headerValue(req.headers['x-csrf']),
          origin: headerValue(req.headers.origin),
          secFetchSite: headerValue(req.headers['sec-fetch-site']),
        },
        referer: req.headers.referer,
        traceParent: traced?.context,
      },
      upstream?.route,
    );
    if (admission.cookies.length > 0) exchange.setCookie = admission.cookies.map(serializeCookie);
    if (!admission.ok)
      return exchange.fail(admission.code, admission.message, admission.headers, admission.fields);
    // Admission found the route, so `match` and `upstream` are set.
    if (!match || !upstream) return exchange.fail('no_route', 'No API is served at this path.');

    const plan = buildUpstreamRequest(upstream, parsed, match.rest, admission.token, proofKeyFor);
    if ('refused' in plan)
      return exchange.fail('bad_request', `This API path is not allowed: ${plan.refused}.`);
    exchange.userTokenSent = admission.token !== undefined && admission.token === admission.session;

    // A client gone while admission awaited the store: nothing to send, and nothing to count
    // (its 'close' has passed, so a count taken now would never be released).
    if (exchange.isClosed()) return;
    // A request without a session (a `none` or `user-optional` route) counts against its client
    // address (an IPv6 /64 as one) instead: session ids never start with ':'.
    const counted = admission.session?.sid ?? `:${rateKeyOf(address.client)}`;
    const open = inFlightBySession.get(counted) ?? 0;
    if (open >= MAX_IN_FLIGHT_PER_SESSION) {
      return exchange.fail(
        'rate_limited',
        'Too many API requests of this session or address are in progress; try again in a moment.',
        { 'retry-after': '1' },
      );
    }
    inFlightBySession.set(counted, open + 1);
    exchange.countedSession = counted;
    // With DPoP, a request may have to be sent twice (the API asks for a nonce, once): a small body
    // of known length is read first so it can be replayed; larger or chunked ones stream as usual
    // and a nonce challenge on them reaches the SPA (the next request carries the nonce).
    if (plan.proofKey) {
      try {
        exchange.replayBody = await readReplayableBody(req, plan.framing);
      } catch (error) {
        logger.debug({ reqId: exchange.requestId, cause: describeError(error) }, 'request body not read');
        return exchange.fail('bad_request', 'The request body did not arrive whole.');
      }
    }
    exchange.send(plan, plan.proofKey ? upstream.dpopNonce : undefined);
  }

  /**
   * The handler; with tracing on, it starts the request's server span, whose context the steps
   * hand to the IdP, Redis and upstream calls as their spans' parent.
   */
  return function handleApiRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const traced = tracing.enabled
      ? startServerSpan(tracing, {
          method: req.method ?? '',
          target: req.url ?? API_PREFIX,
          attributes: API_SPAN_ATTRIBUTES,
        })
      : undefined;
    return apiProxy(req, res, traced);
  };
}
