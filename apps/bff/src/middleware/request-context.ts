import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { logRequest, requestIdFrom } from '../http/request-log.ts';
import type { Logger } from '../logger.ts';

/**
 * Gives every request an id (the caller's `X-Request-Id` when well-formed) and a child logger,
 * and writes the one line per request when it ends (`http/request-log.ts`, shared with the
 * `/api` proxy): method, path (never the query), status and duration.
 */
export function requestContext(logger: Logger): MiddlewareHandler<AppEnv> {
  const logRequests = logger.isLevelEnabled('info');
  return async function requestContextMiddleware(c, next) {
    const start = performance.now();
    const requestId = requestIdFrom(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.set('log', logger.child({ reqId: requestId }));
    await next();
    c.header('X-Request-Id', requestId);
    if (logRequests) {
      logRequest(logger, {
        reqId: requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        start,
      });
    }
  };
}
