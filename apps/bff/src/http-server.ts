import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { ErrorBody, ErrorCode } from '@okta-bff/oidc';
import { createApp } from './app.ts';
import type { AppDeps } from './app-env.ts';
import { describeError } from './logger.ts';
import { createApiProxy, isApiRequest } from './routes/api-proxy.ts';
import { createViteDevProxy } from './routes/vite-dev-proxy.ts';
import { createServices } from './services.ts';

/**
 * The BFF's request listener: `/api/*` goes to the streaming proxy, everything else to the Hono
 * app. Both share one set of services (session cache, refresh coordinator).
 */
export function createBffListener(deps: AppDeps): RequestListener {
  const services = createServices(deps.config, deps.idp, deps.logger);
  const app = createApp(deps, services);
  const honoListener = getRequestListener(app.fetch);
  const proxy = createApiProxy({
    upstreamUrl: deps.config.apiUpstreamUrl,
    timeoutMs: deps.config.apiUpstreamTimeoutMs,
    publicOrigin: deps.config.publicOrigin,
    logger: deps.logger,
    services,
  });
  const vite =
    deps.config.mode === 'development' && deps.config.viteDevUrl
      ? createViteDevProxy(deps.config.viteDevUrl, deps.config.publicOrigin, deps.logger)
      : undefined;
  const ownsPath = (url: string | undefined) => isBffPath(url, deps.config.callbackPath);

  return function bffListener(req: IncomingMessage, res: ServerResponse) {
    if (!isApiRequest(req.url)) {
      if (vite && (req.method === 'GET' || req.method === 'HEAD') && !ownsPath(req.url))
        vite.forward(req, res);
      else void honoListener(req, res);
      return;
    }
    proxy(req, res).catch((error: unknown) => {
      deps.logger.error({ err: describeError(error) }, 'unhandled error in the API proxy');
      if (!res.headersSent) {
        res.writeHead(500, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(JSON.stringify({ error: 'internal_error', message: 'Something went wrong on our side.' }));
      } else {
        res.destroy();
      }
    });
  };
}

/** An `http.Server` running the BFF; the caller listens. */
export function createBffServer(deps: AppDeps): http.Server {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, createBffListener(deps));
  const refuse = (socket: Duplex, status: string, code: ErrorCode, message: string) => {
    const body = JSON.stringify({ error: code, message } satisfies ErrorBody);
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
  const vite =
    deps.config.mode === 'development' && deps.config.viteDevUrl
      ? createViteDevProxy(deps.config.viteDevUrl, deps.config.publicOrigin, deps.logger)
      : undefined;
  server.on('upgrade', (req, socket, head) => {
    // Only Vite's HMR channel (path `/`, subprotocol vite-hmr) is ever upgraded, and only in development.
    const isHmr =
      (req.url ?? '').split('?')[0] === '/' &&
      /\bvite-hmr\b/.test(req.headers['sec-websocket-protocol'] ?? '');
    if (vite && isHmr) vite.upgrade(req, socket, head);
    else refuse(socket, '400 Bad Request', 'bad_request', 'This server does not upgrade connections here.');
  });
  // CONNECT never reaches the request listener: answer it here rather than dropping the socket.
  server.on('connect', (_req, socket) =>
    refuse(socket, '405 Method Not Allowed', 'method_not_allowed', 'CONNECT is not supported.'),
  );
  return server;
}

/** Paths the BFF answers itself in development too (everything else GET goes to Vite). */
function isBffPath(url: string | undefined, callbackPath: string): boolean {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return path.startsWith('/auth/') || path === callbackPath || path === '/healthz' || path === '/readyz';
}
