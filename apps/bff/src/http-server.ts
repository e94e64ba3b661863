import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createApp } from './app.ts';
import type { AppDeps } from './app-env.ts';
import { describeError } from './logger.ts';
import { createApiProxy, isApiRequest } from './routes/api-proxy.ts';
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
  return function bffListener(req: IncomingMessage, res: ServerResponse) {
    if (!isApiRequest(req.url)) {
      void honoListener(req, res);
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
  return server;
}
