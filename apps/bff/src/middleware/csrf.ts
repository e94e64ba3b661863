import { CSRF_HEADER, CSRF_HEADER_VALUE } from '@okta-bff/oidc';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { BffError } from '../errors.ts';

/**
 * Requires `X-CSRF: 1` and refuses `Sec-Fetch-Site: cross-site`. A custom header cannot be sent
 * cross-origin without a CORS preflight, which this BFF never grants, so its presence proves the
 * request came from our own origin's script (Duende BFF's anti-forgery rule).
 *
 * @see https://docs.duendesoftware.com/bff/fundamentals/session/handlers/ (anti-forgery header)
 */
export function requireCsrfHeader(): MiddlewareHandler<AppEnv> {
  return async function requireCsrfHeaderMiddleware(c, next) {
    if (c.req.header(CSRF_HEADER) !== CSRF_HEADER_VALUE || c.req.header('sec-fetch-site') === 'cross-site') {
      throw new BffError(
        'csrf_required',
        403,
        `This call needs the ${CSRF_HEADER}: ${CSRF_HEADER_VALUE} header from the app's own origin.`,
      );
    }
    await next();
  };
}
