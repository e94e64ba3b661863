import type { Context } from '@opentelemetry/api';
import * as oauth from 'oauth4webapi';
import { type DpopKey, dpopHandle, withDpopNonceRetry } from './dpop.ts';
import { type Idp, requestOptions } from './idp.ts';
import { InvalidIdpAnswerError } from './idp-failure.ts';

/** Tokens a refresh yields. `refreshToken` is the rotated one when the IdP rotates (Okta may). */
export interface RefreshedTokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  readonly scope: string | undefined;
}

/**
 * Redeems a refresh token. oauth4webapi checks the answer's shape and the claims of an ID token in
 * it; its signature and its match with the session's are for `verifyRefreshedIdToken`. `parent`:
 * the trace context of the request that needed the refresh.
 *
 * @throws whatever the exchange threw: classify it with `classifyIdpFailure`.
 * @see RFC 6749 §6; Okta "Refresh access tokens" (refresh token rotation)
 */
export async function redeemRefreshToken(
  idp: Idp,
  refreshToken: string,
  nowS = () => Math.floor(Date.now() / 1000),
  dpopKey?: DpopKey,
  parent?: Context,
): Promise<RefreshedTokens> {
  const dpop = dpopKey ? { DPoP: await dpopHandle(idp.client, dpopKey) } : {};
  const tokens = await withDpopNonceRetry(async () => {
    const response = await oauth.refreshTokenGrantRequest(
      idp.as,
      idp.client,
      idp.clientAuth.token,
      refreshToken,
      {
        ...requestOptions(idp, parent),
        ...dpop,
      },
    );
    return oauth.processRefreshTokenResponse(idp.as, idp.client, response);
  });
  if (dpopKey && tokens.token_type !== 'dpop') {
    throw new InvalidIdpAnswerError(`the IdP refreshed a DPoP session with a ${tokens.token_type} token`);
  }
  return {
    accessToken: tokens.access_token,
    accessTokenExpiresAt: nowS() + (tokens.expires_in ?? 3600),
    refreshToken: tokens.refresh_token ?? refreshToken,
    idToken: tokens.id_token,
    scope: tokens.scope,
  };
}

/**
 * Revokes a token at the IdP's revocation endpoint within `timeoutMs` (traced under `parent`, the
 * request's context, when one asked for it).
 * Best effort: the caller logs a failure and goes on (the user is signing out either way).
 *
 * @see RFC 7009
 */
export async function revokeToken(
  idp: Idp,
  token: string,
  tokenTypeHint: 'refresh_token' | 'access_token',
  timeoutMs: number,
  dpopKey?: DpopKey,
  parent?: Context,
): Promise<void> {
  if (!idp.as.revocation_endpoint) return;
  const dpop = dpopKey ? { DPoP: await dpopHandle(idp.client, dpopKey) } : {};
  await withDpopNonceRetry(async () => {
    const response = await oauth.revocationRequest(idp.as, idp.client, idp.clientAuth.revocation, token, {
      ...requestOptions(idp, parent, timeoutMs),
      ...dpop,
      additionalParameters: { token_type_hint: tokenTypeHint },
    });
    await oauth.processRevocationResponse(response);
  });
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
