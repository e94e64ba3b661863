import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env.ts';
import { completeLogin, describeUser, loginFailed, logout, startLogin } from '../auth/actions.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { requireSameOrigin } from '../middleware/csrf.ts';
import { rateLimit } from '../middleware/rate-limit.ts';
import { cookieParser, sessionLoader } from '../middleware/session.ts';
import type { IdpLoader } from '../oidc/idp.ts';
import { respond, setCookies } from './respond.ts';

/** A form_post callback is a handful of short parameters; anything larger is not from the IdP. */
const CALLBACK_BODY_LIMIT_BYTES = 32 * 1024;

/** Every path below this belongs to the BFF (in development too, where other pages go to Vite). */
export const AUTH_PREFIX = '/auth/';

/**
 * `/auth/*` and the callback at `REDIRECT_URL`'s path: login, callback (query and form_post),
 * user and logout. Every answer is `Cache-Control: no-store`; the callback's also `no-referrer`.
 *
 * @see OpenID Connect Core §3.1 (authorization code flow); OAuth 2.0 Form Post Response Mode
 */
export function authRoutes(
  idp: IdpLoader,
  callbackPath: string,
  publicOrigin: string,
  loginRateLimiter: RateLimiter,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Only these routes: `app.route('/', …)` mounts this app's middleware at the root, and a `*`
  // here would reach the SPA routes registered after it (its assets would never be cached).
  // Set before the handler, so that the answer it makes with `c.redirect`/`c.json` carries it:
  // Hono's `c.header` on an answer already made copies that whole `Response` (twice, through
  // @hono/node-server's lightweight one), on every login request (bench/FINDINGS.md §11). An
  // answer made otherwise (the error handler's) still gets it afterwards.
  const noStore: MiddlewareHandler<AppEnv> = async function noStore(c, next) {
    c.header('Cache-Control', 'no-store');
    await next();
    if (c.res.headers.get('Cache-Control') !== 'no-store') c.header('Cache-Control', 'no-store');
  };
  app.use('/auth/*', noStore);
  app.use(callbackPath, noStore);

  // Over the per-address limit nothing reaches the IdP (with PAR, each login is a signed IdP call).
  // The request's cookies tell which transaction slot the new login takes. A top-level
  // navigation: a failure is answered like a failed callback (the SPA explains the code), never
  // as JSON.
  // `c.get(name)` rather than `c.var.name`: Hono's `c.var` builds an object of every variable on
  // each read.
  app.get('/auth/login', rateLimit(loginRateLimiter), cookieParser(), async (c) =>
    respond(
      c,
      await startLogin(
        c.get('auth'),
        idp.current(),
        c.req.query('returnTo'),
        c.get('cookies'),
        c.req.query('stepUp'),
      ),
    ),
  );

  const callback = async (c: Context<AppEnv>, params: URLSearchParams) => {
    c.header('Referrer-Policy', 'no-referrer');
    return respond(
      c,
      await completeLogin(c.get('auth'), idp.current(), params, c.get('cookies'), c.req.header('user-agent')),
    );
  };
  const malformedCallback = (c: Context<AppEnv>, reason: string) => {
    c.header('Referrer-Policy', 'no-referrer');
    return respond(c, loginFailed(c.get('auth'), 'idp_error', reason));
  };
  app.get(callbackPath, cookieParser(), (c) => callback(c, new URL(c.req.url).searchParams));
  app.post(
    callbackPath,
    bodyLimit({
      maxSize: CALLBACK_BODY_LIMIT_BYTES,
      onError: (c) => malformedCallback(c, 'the form_post body is larger than an authorization response'),
    }),
    cookieParser(),
    async (c) => {
      const type = c.req.header('content-type') ?? '';
      if (!type.startsWith('application/x-www-form-urlencoded'))
        return malformedCallback(c, 'the form_post body is not a form');
      return callback(c, new URLSearchParams(await c.req.text()));
    },
  );

  app.get('/auth/user', sessionLoader(), (c) => {
    const session = c.get('session');
    const { status, json } = describeUser(c.get('auth'), session);
    // A cookie that no longer opens (old key, expired, tampered) is dropped rather than resent forever.
    if (!session) setCookies(c, c.get('auth').sessions.clear(c.get('cookies')));
    return c.json(json, status);
  });

  app.post('/auth/logout', requireSameOrigin(publicOrigin), sessionLoader({ renew: false }), async (c) =>
    respond(c, await logout(c.get('auth'), idp.current(), c.get('session'), c.get('cookies'))),
  );

  return app;
}
