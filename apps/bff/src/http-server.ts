import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './app.ts';
import type { AppDeps, AppEnv } from './app-env.ts';
import { errorResponse } from './http/error-response.ts';
import { refuseSocket } from './http/refuse-socket.ts';
import { createRequestRecorder } from './http/request-log.ts';
import { describeError } from './logger.ts';
import { createApiProxy, isApiRequest } from './proxy/api-proxy.ts';
import { createRouteTable } from './proxy/route-table.ts';
import { createWebSocketProxy, type WebSocketProxy } from './proxy/websocket-proxy.ts';
import { AUTH_PREFIX } from './routes/auth.ts';
import { createViteDevProxy, type ViteDevProxy } from './routes/vite-dev-proxy.ts';
import { createServices, OPS_OFF } from './services.ts';
import { createLiveSockets } from './session/live/live-sockets.ts';

/** The BFF's server, and what it holds open besides its sockets. */
export type BffServer = http.Server & {
  /** Closes the session store's connections (Redis); call after the server has drained. */
  closeSessions(): Promise<void>;
  /** The `/api` WebSockets, for the graceful shutdown (closed with 1001, then cut). */
  readonly webSockets: WebSocketProxy;
};

/** An `http.Server` running the BFF: `/api/*` to the streaming proxy, everything else to Hono. The caller listens. */
export function createBffServer(deps: AppDeps): BffServer {
  const vite =
    deps.config.mode === 'development' && deps.config.viteDevUrl
      ? createViteDevProxy(deps.config.viteDevUrl, deps.config.publicOrigin, deps.logger)
      : undefined;
  const listener = createBffListener(deps, vite);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, listener);
  server.on('upgrade', (req, socket, head) => {
    // Vite's HMR channel (path `/`, subprotocol vite-hmr), only in development; WebSockets under
    // `/api` on routes that allow them (`proxy/websocket-proxy.ts`); nothing else.
    const isHmr =
      (req.url ?? '').split('?')[0] === '/' &&
      /\bvite-hmr\b/.test(req.headers['sec-websocket-protocol'] ?? '');
    if (vite && isHmr) vite.upgrade(req, socket, head);
    else if (isApiRequest(req.url)) listener.upgrade(req, socket, head);
    else refuseSocket(socket, 'bad_request', 'This server does not upgrade connections here.');
  });
  // CONNECT never reaches the request listener: answer it here rather than dropping the socket.
  server.on('connect', (_req, socket) =>
    refuseSocket(socket, 'method_not_allowed', 'CONNECT is not supported.'),
  );
  return Object.assign(server, { closeSessions: () => listener.close(), webSockets: listener.webSockets });
}

/**
 * The BFF's request listener. Both paths share one set of services (session store, refresh
 * coordinator). In development, GET and HEAD requests for paths the BFF does not answer itself go
 * to Vite (`vite`, created once by the server, which also relays its websocket).
 */
export function createBffListener(deps: AppDeps, vite?: ViteDevProxy): BffListener {
  const ops = deps.ops ?? OPS_OFF;
  const services = createServices(deps.config, deps.idp, deps.logger, ops, deps.nowMs);
  const recordRequest = createRequestRecorder(deps.logger, ops.metrics);
  const app = createApp(deps, services, recordRequest);
  const honoListener = getRequestListener(app.fetch);
  // One route table for both paths: HTTP requests and WebSocket handshakes pick routes alike.
  const routes = createRouteTable(deps.config.apiRoutes);
  const proxy = createApiProxy({
    routes,
    logger: deps.logger,
    auth: services,
    recordRequest,
    metrics: ops.metrics,
    tracing: ops.tracing,
    trustProxyHops: deps.config.trustProxyHops,
  });
  const shuttingDown = deps.shuttingDown ?? (() => false);
  const liveSockets = createLiveSockets({
    store: services.sessions,
    nowMs: deps.nowMs ?? Date.now,
    onCheckFailed: throttled((error: unknown) =>
      deps.logger.warn({ err: describeError(error) }, 'websocket session check failed; sockets stay open'),
    ),
  });
  const webSockets = createWebSocketProxy({
    routes,
    auth: services,
    liveSockets,
    logger: deps.logger,
    recordRequest,
    metrics: ops.metrics,
    tracing: ops.tracing,
    trustProxyHops: deps.config.trustProxyHops,
    shuttingDown,
  });
  const ownsPath = vite ? bffPathsOf(app) : () => true;

  const bffListener = function bffListener(req: IncomingMessage, res: ServerResponse) {
    // Once shutdown begins, every answer closes its connection: keep-alive clients reconnect elsewhere.
    if (shuttingDown()) res.setHeader('connection', 'close');
    if (!isApiRequest(req.url)) {
      if (vite && (req.method === 'GET' || req.method === 'HEAD') && !ownsPath(req.url))
        vite.forward(req, res);
      else void honoListener(req, res);
      return;
    }
    proxy(req, res).catch((error: unknown) => {
      deps.logger.error({ err: describeError(error) }, 'unhandled error in the API proxy');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = errorResponse('internal_error', 'Something went wrong on our side.');
      res.writeHead(e.status, e.headers);
      res.end(e.body);
    });
  };
  return Object.assign(bffListener, {
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => webSockets.upgrade(req, socket, head),
    webSockets,
    close: () => {
      liveSockets.close();
      return services.sessions.close();
    },
  });
}

/**
 * The request listener; `upgrade` for `/api` WebSocket handshakes (the server's `'upgrade'` event),
 * the sockets it holds, and `close()` for what it holds open (the session store's connections).
 */
export type BffListener = RequestListener & {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly webSockets: WebSocketProxy;
  close(): Promise<void>;
};

/** `fn` at most once a minute (a warning that would repeat every second while Redis is down). */
function throttled<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (...args) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    fn(...args);
  };
}

/**
 * Which request targets the Hono app answers itself, read from its own route table: every
 * concrete path it registered, and everything under `/auth/`.
 */
export function bffPathsOf(app: Hono<AppEnv>): (url: string | undefined) => boolean {
  const paths = new Set(app.routes.map((r) => r.path).filter((p) => !p.includes('*') && !p.includes(':')));
  return (url) => {
    const path = (url ?? '/').split('?')[0] ?? '/';
    return paths.has(path) || path.startsWith(AUTH_PREFIX);
  };
}
