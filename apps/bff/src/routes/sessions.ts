import type { ErrorBody } from '@okta-bff/oidc';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { ActionResult } from '../auth/actions.ts';
import { endOtherSessions, endSession, listSessions } from '../auth/sessions.ts';
import { serializeCookie } from '../http/cookie-header.ts';
import { errorAsResponse } from '../http/error-response.ts';
import { requireSameOrigin } from '../middleware/csrf.ts';
import { sessionLoader } from '../middleware/session.ts';
import type { IdpLoader } from '../oidc/idp.ts';
import { respond } from './respond.ts';

/**
 * The signed-in user's sessions ("Devices", `SESSION_STORE=redis`; the cookie store answers 501
 * `not_supported`):
 *
 * - `GET /auth/sessions`: the list (401 without a session);
 * - `DELETE /auth/sessions/<id>`: ends one, 204 (its own id: a logout, cookies deleted); 404 for an
 *   id that is not one of the user's live sessions;
 * - `POST /auth/sessions/end-others`: ends all but this one, 204.
 *
 * The two that end sessions keep the anti-forgery rule of `POST /auth/logout` (`X-CSRF: 1`, the
 * app's `Origin`, `Sec-Fetch-Site: same-origin`), checked before the session is even read: 403
 * `csrf_required` and nothing changes. Every answer is `Cache-Control: no-store`.
 */
export function sessionRoutes(idp: IdpLoader, publicOrigin: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Set before the handler, so the answer it makes carries it (see `noStore` in routes/auth.ts);
  // an answer made otherwise (the error handler's) gets it afterwards.
  const noStore: MiddlewareHandler<AppEnv> = async function noStore(c, next) {
    c.header('Cache-Control', 'no-store');
    await next();
    if (c.res.headers.get('Cache-Control') !== 'no-store') c.header('Cache-Control', 'no-store');
  };
  app.use('/auth/sessions', noStore);
  app.use('/auth/sessions/*', noStore);

  // Listing is no activity of the sessions listed, but it is this one's: its idle clock is renewed.
  app.get('/auth/sessions', sessionLoader(), async (c) =>
    answer(c, await listSessions(c.get('auth'), c.get('session'), c.get('cookies'))),
  );

  // Before `/:id`, which it would otherwise match for a DELETE; a POST has only this path.
  app.post(
    '/auth/sessions/end-others',
    requireSameOrigin(publicOrigin),
    sessionLoader({ renew: false }),
    async (c) =>
      answer(c, await endOtherSessions(c.get('auth'), idp.current(), c.get('session'), c.get('cookies'))),
  );

  app.delete(
    '/auth/sessions/:id',
    requireSameOrigin(publicOrigin),
    sessionLoader({ renew: false }),
    async (c) =>
      answer(
        c,
        await endSession(c.get('auth'), idp.current(), c.get('session'), c.req.param('id'), c.get('cookies')),
      ),
  );

  return app;
}

/**
 * An action's result as HTTP: an error through the one error writer (`{error, message}`, with its
 * headers), a 204 without a body, anything else as JSON; the cookies in every case.
 */
function answer(c: Context<AppEnv>, result: ActionResult): Response {
  if (result.status >= 400) {
    // The actions' errors are `failure(code, message)`: an `ErrorBody`.
    const { error, message } = result.json as ErrorBody;
    const response = errorAsResponse(error, message);
    for (const cookie of result.cookies) response.headers.append('Set-Cookie', serializeCookie(cookie));
    return response;
  }
  if (result.status === 204) {
    for (const cookie of result.cookies) c.header('Set-Cookie', serializeCookie(cookie), { append: true });
    return c.body(null, 204);
  }
  return respond(c, result);
}
