import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env.ts';
import { backchannelLogout, frontchannelLogout } from '../auth/logout-channels.ts';
import { ApiError } from '../errors.ts';
import { errorAsResponse } from '../http/error-response.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { rateLimit } from '../middleware/rate-limit.ts';
import type { IdpLoader } from '../oidc/idp.ts';

/** A logout token is one JWT; a form much larger is not from the IdP. */
const LOGOUT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The IdP-initiated logout routes: OpenID Connect Back-Channel Logout 1.0 (server to server: no
 * cookie, no `X-CSRF`) and Front-Channel Logout 1.0 (Okta's Single Logout: a hidden iframe on the
 * IdP's page, so framable by the issuer's origin only).
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html
 */
export function logoutChannelRoutes(
  idp: IdpLoader,
  issuer: string,
  frontchannelRateLimiter: RateLimiter,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const issuerOrigin = new URL(issuer).origin;

  app.post(
    '/auth/backchannel-logout',
    bodyLimit({
      maxSize: LOGOUT_BODY_LIMIT_BYTES,
      onError: () => errorAsResponse('payload_too_large', 'A logout token is smaller than this.'),
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      const type = c.req.header('content-type') ?? '';
      if (!type.startsWith('application/x-www-form-urlencoded')) {
        throw new ApiError('bad_request', 'Send logout_token as an application/x-www-form-urlencoded form.');
      }
      const token = new URLSearchParams(await c.req.text()).get('logout_token') ?? undefined;
      const result = await backchannelLogout(c.var.auth, idp.require(), token);
      if (!result.ok) throw new ApiError('bad_request', `The logout request was refused: ${result.reason}.`);
      return c.json({}, 200);
    },
  );

  // It needs no credential: the same per-address budget as logins (the back channel is
  // authenticated by its signed token and is not limited).
  app.get('/auth/frontchannel-logout', rateLimit(frontchannelRateLimiter), async (c) => {
    c.header('Cache-Control', 'no-store');
    const result = await frontchannelLogout(c.var.auth, idp.require(), {
      iss: c.req.query('iss'),
      sid: c.req.query('sid'),
    });
    if (!result.ok) throw new ApiError('bad_request', `The logout request was refused: ${result.reason}.`);
    c.header('Content-Security-Policy', `default-src 'none'; frame-ancestors ${issuerOrigin}`);
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.html('<!doctype html><title>Signed out</title>');
  });

  return app;
}
