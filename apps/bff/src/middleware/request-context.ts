import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../app-env.ts';
import { clientAddress } from '../http/client-address.ts';
import { type RequestRecorder, requestIdFrom } from '../http/request-log.ts';
import type { Logger } from '../logger.ts';
import { routeGroupOf } from '../ops/metrics.ts';
import { endServerSpan, startServerSpan, type Tracing } from '../ops/tracing.ts';

export interface RequestContextOptions {
  readonly logger: Logger;
  readonly recordRequest: RequestRecorder;
  readonly tracing: Tracing;
  readonly callbackPath: string;
  readonly trustProxyHops: number;
}

/**
 * Gives every request an id (the caller's `X-Request-Id` when well-formed) and a child logger;
 * with tracing on, a server span (named, once routed, after the route that answered:
 * `GET /auth/login`) whose context goes into `traceParent` for the routes to hand to their IdP and
 * store calls (no context manager carries it: see `ops/tracing.ts`); and records its end
 * (`http/request-log.ts`, shared with the `/api` proxy): one line with method, path (never the
 * query), status, client address and duration, and the request metrics.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const { logger, recordRequest, tracing, callbackPath, trustProxyHops } = options;
  return async function requestContextMiddleware(c, next) {
    const start = performance.now();
    const requestId = requestIdFrom(c.req.header('x-request-id'));
    const group = routeGroupOf(c.req.path, callbackPath);
    c.set('requestId', requestId);
    c.set('log', logger.child({ reqId: requestId }));
    const incoming = c.env?.incoming;
    const address = clientAddress(
      incoming?.socket.remoteAddress,
      incoming?.headers['x-forwarded-for'],
      trustProxyHops,
    );
    c.set('clientAddress', address.client);
    const traced = tracing.enabled
      ? startServerSpan(tracing, {
          method: c.req.method,
          target: c.req.path,
          attributes: { 'bff.route_group': group },
        })
      : undefined;
    // Before the handler, so that the answer it makes carries it (see `noStore` in routes/auth.ts:
    // `c.header` on a finished answer copies the whole `Response`); answers made otherwise (the
    // error handler's, the SPA's files) get it afterwards.
    c.header('X-Request-Id', requestId);
    if (traced) c.set('traceParent', traced.context);
    try {
      await next();
    } finally {
      if (c.res.headers.get('X-Request-Id') !== requestId) c.header('X-Request-Id', requestId);
      const status = c.res.status;
      recordRequest({
        reqId: requestId,
        method: c.req.method,
        path: c.req.path,
        group,
        status,
        ip: address.client,
        start,
      });
      // The route that answered (or the middleware that did): its registered path, never the raw one.
      if (traced) endServerSpan(traced.span, status, { method: c.req.method, route: routePath(c) });
    }
  };
}
