import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';
import { CSRF_MESSAGE, checkRequestOrigin } from '../http/request-origin.ts';

/**
 * The anti-forgery rule (`http/request-origin.ts`, shared with the `/api` proxy) as middleware:
 * a request it refuses ends in 403 `csrf_required` before any handler runs.
 */
export function requireSameOrigin(publicOrigin: string): MiddlewareHandler<AppEnv> {
  return async function requireSameOriginMiddleware(c, next) {
    const verdict = checkRequestOrigin(
      {
        csrf: c.req.header('x-csrf'),
        origin: c.req.header('origin'),
        secFetchSite: c.req.header('sec-fetch-site'),
      },
      publicOrigin,
    );
    if (!verdict.ok) throw new ApiError('csrf_required', CSRF_MESSAGE, { cause: new Error(verdict.reason) });
    await next();
  };
}
