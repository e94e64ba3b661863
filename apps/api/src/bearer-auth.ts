/**
 * The middleware that guards every route but `/healthz`: no verified access token, no handler.
 */
import type { MiddlewareHandler } from 'hono';
import { type AccessTokenClaims, parseBearerAuthorization, type VerifyAccessToken } from './access-token.ts';
import type { ApiError } from './errors.ts';

/** Hono environment of the API: handlers after {@link bearerAuth} read the verified claims. */
export interface ApiEnv {
  Variables: {
    /** The verified access token's claims; `sub` owns the items. */
    claims: AccessTokenClaims;
  };
}

/** `realm` names the protection space in the challenge (RFC 7235 §2.2); any stable string does. */
export const BEARER_REALM = 'api';

/**
 * Verifies `Authorization: Bearer <token>` and stores the claims in `c.var.claims`. Failures are
 * thrown as `ApiError`s; `onError` answers them and adds the challenge from {@link bearerChallenge}.
 *
 * @see RFC 6750 §2.1 (the header) and §3 (the answer when it is missing or refused)
 */
export function bearerAuth(verifyAccessToken: VerifyAccessToken): MiddlewareHandler<ApiEnv> {
  return async function bearerAuthMiddleware(c, next) {
    const token = parseBearerAuthorization(c.req.header('authorization'));
    c.set('claims', await verifyAccessToken(token));
    await next();
  };
}

/**
 * The `WWW-Authenticate` value for an auth failure, or `undefined` for other errors.
 * No credentials: a bare challenge, no error attribute (RFC 6750 §3.1: "the resource server
 * SHOULD NOT include an error code" then). Refused credentials: `error="invalid_token"` with the
 * fixed description (ApiError messages never contain `"` or `\`, so no escaping is needed).
 *
 * @see RFC 6750 §3
 */
export function bearerChallenge(err: ApiError): string | undefined {
  if (err.code === 'unauthenticated') return `Bearer realm="${BEARER_REALM}"`;
  if (err.code === 'invalid_token') {
    return `Bearer error="invalid_token", error_description="${err.message}"`;
  }
  return undefined;
}
