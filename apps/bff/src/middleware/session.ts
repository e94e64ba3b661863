import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env.ts';
import { readChunkedCookie } from '../session/cookies.ts';

/**
 * Opens the session cookie, if any, into `c.var.session`. A cookie that does not open (tampered,
 * truncated, sealed under a retired key, expired, garbage) is no session: never an error.
 */
export function sessionLoader(): MiddlewareHandler<AppEnv> {
  return async function sessionLoaderMiddleware(c, next) {
    const cookies = getCookie(c);
    const auth = c.var.auth;
    const sealed = readChunkedCookie(cookies, auth.names.session);
    const session = sealed ? await auth.codec.unsealSession(sealed) : undefined;
    c.set('cookies', cookies);
    c.set('session', session && session.expiresAt > Date.now() / 1000 ? session : undefined);
    await next();
  };
}
