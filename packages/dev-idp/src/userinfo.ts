/**
 * Okta-style `/v1/userinfo`. oidc-provider's own userinfo endpoint refuses access tokens issued
 * for a resource server (`aud` = `api://default`), while Okta's custom authorization server
 * accepts exactly those. So the IdP answers this path itself: it verifies the JWT access token
 * with its own signing key and releases the user's claims allowed by the token's `scp`.
 *
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS/#tag/CustomAS/operation/userinfoCustomAS
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 */
import { type JWTPayload, errors as joseErrors, jwtVerify, type KeyObject } from 'jose';
import { claimsForScopes, type DevUser, findDevUser } from './users.ts';

/** A response to write, decoupled from node:http so it can be tested without a server. */
export interface UserinfoResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the userinfo bridge needs to know about the IdP. */
export interface UserinfoOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly publicKey: KeyObject | CryptoKey;
  readonly users: readonly DevUser[];
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** RFC 6750 §3: every refusal says why in `WWW-Authenticate`, with no body to parse. */
function refuse(error: 'invalid_request' | 'invalid_token' | 'insufficient_scope', status: number) {
  return {
    status,
    headers: { ...NO_STORE, 'www-authenticate': `Bearer error="${error}"` },
    body: '',
  } satisfies UserinfoResponse;
}

/** The `scp` claim as a list, accepting Okta's array form and a space-separated string. */
function grantedScopes(payload: JWTPayload): string[] {
  const { scp, scope } = payload;
  if (Array.isArray(scp)) return scp.filter((value): value is string => typeof value === 'string');
  if (typeof scope === 'string') return scope.split(' ');
  return [];
}

/**
 * Answers a userinfo request from its `Authorization` header value.
 *
 * Refusals: no Bearer token → 401 `invalid_request` (RFC 6750 §3.1 allows omitting the code, Okta
 * sends `invalid_request`); bad signature, issuer, audience or expiry → 401 `invalid_token`;
 * token without `openid` → 403 `insufficient_scope`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export async function answerUserinfo(
  authorization: string | undefined,
  { issuer, audience, publicKey, users }: UserinfoOptions,
): Promise<UserinfoResponse> {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization ?? '');
  const token = match?.[1];
  if (!token) return refuse('invalid_request', 401);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, publicKey, {
      issuer,
      audience,
      algorithms: ['RS256'],
      typ: 'at+jwt',
    }));
  } catch (error) {
    // Only verification failures mean "invalid token"; anything else is a bug to surface.
    if (error instanceof joseErrors.JOSEError) return refuse('invalid_token', 401);
    throw error;
  }

  const scopes = grantedScopes(payload);
  if (!scopes.includes('openid')) return refuse('insufficient_scope', 403);
  const user = typeof payload.sub === 'string' ? findDevUser(users, payload.sub) : undefined;
  if (!user) return refuse('invalid_token', 401);

  return {
    status: 200,
    headers: { ...NO_STORE, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(claimsForScopes(user, scopes)),
  };
}
