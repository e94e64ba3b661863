import * as oauth from 'oauth4webapi';
import { type Idp, requestOptions } from './idp.ts';

/** Tokens a refresh yields. `refreshToken` is the rotated one when the IdP rotates (Okta may). */
export interface RefreshedTokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  readonly scope: string | undefined;
}

/** Why a refresh failed: the grant is gone (end the session), or the IdP is unavailable (keep it). */
export class RefreshError extends Error {
  readonly code: 'invalid_grant' | 'idp_unavailable';
  constructor(code: RefreshError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RefreshError';
    this.code = code;
  }
}

/**
 * True when the IdP itself answered with an OAuth error (RFC 6749 §5.2, or a `WWW-Authenticate`
 * challenge) and a 4xx status other than 429: the grant is refused and retrying cannot help.
 */
function isRefusal(error: unknown): boolean {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) {
    return error.status >= 400 && error.status < 500 && error.status !== 429;
  }
  return false;
}

/**
 * Redeems a refresh token. A refused grant (`invalid_grant`, or any other OAuth error the IdP
 * states) means the session cannot continue; an unreachable or failing IdP does not. Anything
 * that is not a statement from the IdP (a network error of whatever shape, a timeout, a 5xx or
 * 429, an answer that is not OAuth) counts as unavailable: ending a session is not undone.
 *
 * @see RFC 6749 §6; Okta "Refresh access tokens" (refresh token rotation)
 */
export async function refreshTokens(
  idp: Idp,
  refreshToken: string,
  now = () => Math.floor(Date.now() / 1000),
): Promise<RefreshedTokens> {
  try {
    const response = await oauth.refreshTokenGrantRequest(
      idp.as,
      idp.client,
      idp.clientAuth,
      refreshToken,
      requestOptions(idp),
    );
    const tokens = await oauth.processRefreshTokenResponse(idp.as, idp.client, response);
    return {
      accessToken: tokens.access_token,
      accessTokenExpiresAt: now() + (tokens.expires_in ?? 3600),
      refreshToken: tokens.refresh_token ?? refreshToken,
      idToken: tokens.id_token,
      scope: tokens.scope,
    };
  } catch (error) {
    if (isRefusal(error))
      throw new RefreshError('invalid_grant', 'the IdP refused the refresh token', { cause: error });
    throw new RefreshError('idp_unavailable', 'the IdP is unavailable', { cause: error });
  }
}

/**
 * Revokes a token at the IdP's revocation endpoint within `timeoutMs`.
 * Best effort: the caller logs a failure and goes on (the user is signing out either way).
 *
 * @see RFC 7009
 */
export async function revokeToken(
  idp: Idp,
  token: string,
  tokenTypeHint: 'refresh_token' | 'access_token',
  timeoutMs: number,
): Promise<void> {
  if (!idp.as.revocation_endpoint) return;
  const response = await oauth.revocationRequest(idp.as, idp.client, idp.clientAuth, token, {
    ...requestOptions(idp, timeoutMs),
    additionalParameters: { token_type_hint: tokenTypeHint },
  });
  await oauth.processRevocationResponse(response);
}

/**
 * The IdP's end-session URL for RP-initiated logout: Okta needs `id_token_hint`, and redirects to
 * `post_logout_redirect_uri` (registered as a sign-out redirect URI) with `state`.
 * Without an end-session endpoint the browser goes straight to `postLogoutRedirectUri`.
 *
 * @see OpenID Connect RP-Initiated Logout 1.0 §2
 */
export function buildEndSessionUrl(
  idp: Idp,
  options: { idToken: string | undefined; postLogoutRedirectUri: string },
): string {
  if (!idp.as.end_session_endpoint) return options.postLogoutRedirectUri;
  const url = new URL(idp.as.end_session_endpoint);
  if (options.idToken) url.searchParams.set('id_token_hint', options.idToken);
  url.searchParams.set('client_id', idp.client.client_id);
  url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
  url.searchParams.set('state', oauth.generateRandomState());
  return url.href;
}
