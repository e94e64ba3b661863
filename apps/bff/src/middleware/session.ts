import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.ts';

/**
 * Opens the session cookie, if any, into `c.var.session`. A cookie that does not open (tampered,
 * truncated, sealed under a retired key, expired, garbage) is no session: never an error.
 */
export function sessionLoader(): MiddlewareHandler<AppEnv> {
  return async function sessionLoaderMiddleware(c, next) {
    const cookies = getCookie(c);
    c.set('cookies', cookies);
    c.set('session', await c.var.readSession(cookies));
    await next();
  };
}
