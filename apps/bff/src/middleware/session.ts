import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { parseCookieHeader } from '../http/cookie-header.ts';
import { setCookies } from '../routes/respond.ts';

/**
 * Parses the request's cookies (with the parser shared with the `/api` proxy) into
 * `c.var.cookies`. The callback needs only this: its transaction cookie, not a session.
 */
export function cookieParser(): MiddlewareHandler<AppEnv> {
  return async function cookieParserMiddleware(c, next) {
    c.set('cookies', parseCookieHeader(c.req.header('cookie')));
    await next();
  };
}

/**
 * Parses the cookies and opens the session, if any, into `c.var.session`; with `renew`, the
 * store's renewed idle clock (cookies) is added to the answer. A cookie that does not
 * open (tampered, truncated, sealed under a retired key, expired, ended, garbage) is no session:
 * never an error.
 */
export function sessionLoader({ renew = true }: { renew?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async function sessionLoaderMiddleware(c, next) {
    const cookies = parseCookieHeader(c.req.header('cookie'));
    c.set('cookies', cookies);
    const auth = c.get('auth');
    const opened = await auth.sessions.read(cookies, auth.traceParent);
    c.set('session', opened?.session);
    await next();
    // A renewed idle clock rides on the answer, unless the handler ends the session (logout).
    if (opened && renew) setCookies(c, opened.cookies);
  };
}
