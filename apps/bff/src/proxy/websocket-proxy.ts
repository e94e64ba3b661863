import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiRoute, ErrorCode } from '@okta-bff/oidc';
import { propagation, type TextMapSetter } from '@opentelemetry/api';
import { type ApiAdmissionContext, admitApiRequest } from '../auth/api-admission.ts';
import { statusOf } from '../errors.ts';
import { clientAddress } from '../http/client-address.ts';
import { parseCookieHeader, serializeCookie } from '../http/cookie-header.ts';
import { rateKeyOf } from '../http/rate-limit.ts';
import { refuseSocket } from '../http/refuse-socket.ts';
import { type RequestRecorder, requestIdFrom } from '../http/request-log.ts';
import { describeError, type Logger } from '../logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { endServerSpan, type ServerSpan, startServerSpan, type Tracing } from '../ops/tracing.ts';
import { CLOSE_GOING_AWAY, type LiveSockets } from '../session/live/live-sockets.ts';
import type { HeaderList } from './headers.ts';
import type { RouteTable } from './route-table.ts';
import { resolveUpstreamPath } from './upstream-path.ts';
import {
  checkClientHandshake,
  createHandshakeCompleter,
  upstreamHandshakeHeadersFor,
} from './websocket-handshake.ts';
import { MAX_PAYLOAD_BYTES, type Relay, startRelay } from './websocket-relay.ts';
import { dialUpstream } from './websocket-upstream.ts';

/**
 * WebSockets under `/api`, on routes with `"websocket": true`: the handshake is admitted like an
 * `/api` request (the WebSocket origin rule, the route, the route's token), the upstream's
 * handshake is made with the route's token, and only once it has succeeded is the browser's
 * completed; from then on `websocket-relay.ts` joins the two and `session/live/` ends the socket
 * when its session or token does.
 *
 * Refusals are JSON error answers written on the raw socket before any upgrade: 400 `bad_request`
 * (not a valid handshake, or a path the upstream must not see), 403 `csrf_required` (Origin), 404
 * `no_route` (unrouted, or a route without `websocket`), 401 (no session), 429 `rate_limited`
 * (too many sockets for one session), 502 `upstream_unavailable` (the upstream refused the
 * handshake, whatever its status, or is unreachable), 504 `upstream_timeout` (no handshake answer
 * within the route's `timeoutMs`), 503 while shutting down. Nothing sent after the request head is
 * read before the upgrade; the socket's own buffer (Node stops reading past it) is all it can hold.
 *
 * @see docs/http-contract.md, "WebSockets"
 */

/**
 * Sockets one session may have open (or opening) at once: far above a tab's few. Sockets opened
 * without a session (a `none` or `user-optional` route) count against their client address (an
 * IPv6 /64 as one) instead, with the same limit: a stranger cannot open sockets without bound.
 */
export const MAX_SOCKETS_PER_SESSION = 32;

export interface WebSocketProxyOptions {
  readonly routes: RouteTable;
  readonly auth: ApiAdmissionContext;
  readonly liveSockets: LiveSockets;
  readonly logger: Logger;
  readonly recordRequest: RequestRecorder;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** `TRUST_PROXY`: hops whose `X-Forwarded-For` is believed. */
  readonly trustProxyHops: number;
  /** True from the start of a graceful shutdown: handshakes are refused (503). */
  readonly shuttingDown?: () => boolean;
}

export interface WebSocketProxy {
  /** The server's `'upgrade'` handler for `/api` targets. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sockets open, plus handshakes in progress. */
  count(): number;
  /** Shutdown: every socket is closed with 1001 (both sides); handshakes in progress are refused. */
  closeAll(): void;
  /** The end of the shutdown grace: whatever is still open is cut. */
  terminateAll(): void;
}

const INTO_LIST: TextMapSetter<HeaderList> = { set: (list, name, value) => void list.push(name, value) };
const headerValue = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

export function createWebSocketProxy(options: WebSocketProxyOptions): WebSocketProxy {
  const { routes, auth, liveSockets, logger, recordRequest, metrics, tracing, trustProxyHops } = options;
  const shuttingDown = options.shuttingDown ?? (() => false);
  const publicUrl = new URL(auth.config.publicOrigin);
  const forwardedProto = publicUrl.protocol.slice(0, -1);
  const complete = createHandshakeCompleter();
  /** The upstream's latest DPoP nonce per route (RFC 9449 §9). */
  const nonces = new Map<string, string>();
  const socketsBySession = new Map<string, number>();
  const release = (sid: string) => {
    const left = (socketsBySession.get(sid) ?? 1) - 1;
    if (left > 0) socketsBySession.set(sid, left);
    else socketsBySession.delete(sid);
  };
  const relays = new Set<Relay>();
  const dials = new Set<() => void>();
  let handshakes = 0;
  let closing = false;

  /** One handshake; `traced`: its server span, whose context its store, IdP and upstream calls take as parent. */
  async function handshake(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    traced: ServerSpan | undefined,
  ) {
    const span = traced?.span;
    const start = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = queryAt < 0 ? '' : target.slice(queryAt);
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxyHops);
    const match = routes.match(path);
    const route: ApiRoute | undefined = match?.route.websocket ? match.route : undefined;
    let gone = false;
    socket.on('close', () => {
      gone = true;
    });
    socket.on('error', () => {
      // Reset by the client: 'close' follows.
    });
    let setCookie: string[] = [];
    const line = {
      reqId: requestId,
      method: req.method ?? '',
      path,
      group: 'api' as const,
      ip: ip.client,
      start,
    };

    const refuse = (code: ErrorCode, message: string, extra: Readonly<Record<string, string>> = {}) => {
      refuseSocket(socket, code, message, {
        'x-request-id': requestId,
        ...(setCookie.length > 0 ? { 'set-cookie': setCookie } : {}),
        ...extra,
      });
      recordRequest({ ...line, ...(route ? { route: route.name } : {}), status: statusOf(code) });
      if (span) endServerSpan(span, statusOf(code));
    };

    if (shuttingDown() || closing) return refuse('service_unavailable', 'The server is shutting down.');
    const checked = checkClientHandshake(req);
    if (!checked.ok)
      return refuse('bad_request', `This is not a valid WebSocket handshake: ${checked.reason}.`);
    const admission = await admitApiRequest(
      auth,
      {
        requestId,
        cookies: parseCookieHeader(req.headers.cookie),
        origin: {
          csrf: headerValue(req.headers['x-csrf']),
          origin: headerValue(req.headers.origin),
          secFetchSite: headerValue(req.headers['sec-fetch-site']),
        },
        websocket: true,
        traceParent: traced?.context,
      },
      route,
    );
    setCookie = admission.cookies.map(serializeCookie);
    if (!admission.ok) return refuse(admission.code, admission.message, admission.headers);
    if (!route || !match) return refuse('no_route', 'No API is served at this path.');
    const upstreamBase = new URL(route.upstreamUrl);
    const resolved = resolveUpstreamPath(upstreamBase.pathname, match.rest);
    if (!resolved.ok) return refuse('bad_request', `This API path is not allowed: ${resolved.reason}.`);
    // Whose count the socket takes: its session's, or its address's (session ids never start with ':').
    const sid = admission.session?.sid ?? `:${rateKeyOf(ip.client)}`;
    if ((socketsBySession.get(sid) ?? 0) >= MAX_SOCKETS_PER_SESSION)
      return refuse('rate_limited', 'Too many WebSockets are open for this session or address.', {
        'retry-after': '1',
      });
    if (gone) return;

    socketsBySession.set(sid, (socketsBySession.get(sid) ?? 0) + 1);
    const token = admission.token;
    const upstreamHandshake = {
      upstream: upstreamBase,
      path: resolved.path,
      token,
      forwarded: { forwardedFor: ip.forwardedFor, proto: forwardedProto, host: publicUrl.host, requestId },
      ...(traced
        ? { decorate: (list: HeaderList) => propagation.inject(traced.context, list, INTO_LIST) }
        : {}),
    };
    const wsScheme = upstreamBase.protocol === 'https:' ? 'wss:' : 'ws:';
    const dial = dialUpstream({
      url: `${wsScheme}//${upstreamBase.host}${resolved.path}${query}`,
      protocols: checked.protocols,
      headers: (nonce) =>
        upstreamHandshakeHeadersFor(req, upstreamHandshake, nonce ?? nonces.get(route.name)),
      timeoutMs: route.timeoutMs,
      maxPayload: MAX_PAYLOAD_BYTES,
      dpop: token?.dpopKey !== undefined,
      onNonce: (nonce) => nonces.set(route.name, nonce),
    });
    const abort = () => dial.abort();
    socket.once('close', abort);
    dials.add(abort);
    const outcome = await dial.result;
    dials.delete(abort);
    socket.removeListener('close', abort);
    if (!outcome.ok) {
      release(sid);
      if (gone) return;
      logger.warn(
        { reqId: requestId, route: route.name, reason: outcome.reason },
        'websocket upstream handshake failed',
      );
      return outcome.code === 'upstream_timeout'
        ? refuse('upstream_timeout', 'The API did not answer the WebSocket handshake in time.')
        : refuse('upstream_unavailable', 'The API did not accept the WebSocket.');
    }
    const upstream = outcome.socket;
    if (gone || shuttingDown() || closing) {
      upstream.terminate();
      release(sid);
      if (!gone) refuse('service_unavailable', 'The server is shutting down.');
      return;
    }

    const browser = complete(req, socket, head, {
      protocol: upstream.protocol,
      headers: [`X-Request-Id: ${requestId}`, ...setCookie.map((c) => `Set-Cookie: ${c}`)],
    });
    if (!browser) {
      // ws refused what checkClientHandshake let through, and answered the browser itself.
      upstream.terminate();
      release(sid);
      recordRequest({ ...line, route: route.name, status: 400 });
      if (span) endServerSpan(span, 400);
      return;
    }
    const openedAt = performance.now();
    metrics.countOpenSockets(route.name, 1);
    metrics.observeRequest('api', route.name, 101, (openedAt - start) / 1000);
    if (span) endServerSpan(span, 101);
    logger.info({ reqId: requestId, route: route.name, path, ip: ip.client }, 'websocket opened');
    let stopWatching = () => {};
    const relay = startRelay(browser, upstream, ({ code, by }) => {
      relays.delete(relay);
      stopWatching();
      release(sid);
      metrics.countOpenSockets(route.name, -1);
      const ms = Math.round(performance.now() - openedAt);
      logger.info({ reqId: requestId, route: route.name, path, code, by, ms }, 'websocket closed');
    });
    relays.add(relay);
    stopWatching = liveSockets.watch({
      session: admission.session,
      tokenExpiresAtS: token?.accessTokenExpiresAt,
      end: (code, reason) => relay.end(code, reason, code === CLOSE_GOING_AWAY ? CLOSE_GOING_AWAY : 1000),
    });
  }

  return {
    upgrade(req, socket, head) {
      handshakes++;
      const traced = tracing.enabled
        ? startServerSpan(tracing, {
            method: req.method ?? '',
            target: req.url ?? '/',
            route: routeLabel(routes, req.url),
            attributes: { 'bff.route_group': 'api', 'bff.websocket': true },
          })
        : undefined;
      handshake(req, socket, head, traced)
        .catch((error: unknown) => {
          logger.error({ err: describeError(error) }, 'unhandled error in the WebSocket proxy');
          refuseSocket(socket, 'internal_error', 'Something went wrong on our side.');
          if (traced) endServerSpan(traced.span, 500);
        })
        .finally(() => {
          handshakes--;
        });
    },
    count: () => relays.size + handshakes,
    closeAll() {
      closing = true;
      liveSockets.endAll(CLOSE_GOING_AWAY, 'server shutting down');
    },
    terminateAll() {
      closing = true;
      for (const abort of dials) abort();
      for (const relay of relays) relay.terminate();
    },
  };
}

/** The span's `http.route`: the matched route's prefix (never the raw path, which holds ids). */
function routeLabel(routes: RouteTable, url: string | undefined): string {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return routes.match(path)?.route.prefix ?? '/api';
}
