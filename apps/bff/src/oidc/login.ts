import type { LoginErrorCode, Prompt, ResponseMode, UserClaims } from '@okta-bff/oidc';
import { jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { isTimeoutError } from '../errors.ts';
import type { Transaction } from '../session/session.ts';
import { type Idp, requestOptions } from './idp.ts';

/** A failed sign-in: the code goes to `/?login_error=<code>`, the cause to the log only. */
export class LoginError extends Error {
  readonly code: LoginErrorCode;
  constructor(code: LoginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoginError';
    this.code = code;
  }
}

export interface AuthorizationRequestOptions {
  readonly scopes: readonly string[];
  readonly prompt: Prompt | undefined;
  readonly responseMode: ResponseMode;
  readonly returnTo: string;
}

/**
 * A fresh authorization request: new `state`, `nonce` and PKCE verifier (S256) for every login,
 * returned with the transaction that must be bound to this browser.
 *
 * @see RFC 7636 (PKCE); OpenID Connect Core §3.1.2.1
 */
export async function buildAuthorizationRequest(
  idp: Idp,
  options: AuthorizationRequestOptions,
): Promise<{ url: URL; transaction: Transaction }> {
  if (!idp.as.authorization_endpoint) throw new TypeError('the IdP metadata has no authorization_endpoint');
  const transaction: Transaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier: oauth.generateRandomCodeVerifier(),
    returnTo: options.returnTo,
  };
  const url = new URL(idp.as.authorization_endpoint);
  const params = url.searchParams;
  params.set('client_id', idp.client.client_id);
  params.set('redirect_uri', idp.redirectUri);
  params.set('response_type', 'code');
  params.set('scope', options.scopes.join(' '));
  params.set('state', transaction.state);
  params.set('nonce', transaction.nonce);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(transaction.codeVerifier));
  params.set('code_challenge_method', 'S256');
  if (options.responseMode !== 'query') params.set('response_mode', options.responseMode);
  if (options.prompt) params.set('prompt', options.prompt);
  return { url, transaction };
}

/** What a successful code exchange yields, before it becomes a session. */
export interface LoginResult {
  readonly user: UserClaims;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  readonly scope: string | undefined;
}

/** ID-token claims that describe the protocol exchange, not the user: kept out of the session. */
const PROTOCOL_CLAIMS = new Set([
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  'jti',
  'azp',
  'ver',
  'amr',
  'idp',
  'sid',
  'auth_time',
  'acr',
]);

/**
 * Completes the authorization response bound to `transaction`: validates it (state, RFC 9207
 * `iss`, `error=`), exchanges the code with the PKCE verifier (client_secret_basic), validates
 * the ID token (claims by oauth4webapi; signature, `iss` and an exact `aud` by jose against the
 * discovered JWKS), then calls userinfo and requires the same `sub`.
 *
 * @throws {LoginError} with the code the user is sent back with.
 * @see OpenID Connect Core §3.1.3.7 (ID token validation), §5.3.2 (userinfo `sub`)
 */
export async function completeAuthorization(
  idp: Idp,
  transaction: Transaction,
  callbackParams: URLSearchParams,
  now = () => Math.floor(Date.now() / 1000),
): Promise<LoginResult> {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(idp.as, idp.client, callbackParams, transaction.state);
  } catch (error) {
    throw authorizationResponseFailure(error);
  }

  const tokens = await guardIdpCall(async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      idp.as,
      idp.client,
      idp.clientAuth,
      params,
      idp.redirectUri,
      transaction.codeVerifier,
      requestOptions(idp),
    );
    return oauth.processAuthorizationCodeResponse(idp.as, idp.client, response, {
      expectedNonce: transaction.nonce,
      requireIdToken: true,
    });
  });

  const idToken = tokens.id_token;
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  if (!idToken || !claims)
    throw new LoginError('token_exchange_failed', 'the token response has no ID token');
  await verifyIdTokenSignature(idp, idToken);

  const userinfo = await guardIdpCall(async () => {
    const response = await oauth.userInfoRequest(
      idp.as,
      idp.client,
      tokens.access_token,
      requestOptions(idp),
    );
    return oauth.processUserInfoResponse(idp.as, idp.client, claims.sub, response);
  });

  const user: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...claims, ...userinfo })) {
    if (!PROTOCOL_CLAIMS.has(name)) user[name] = value;
  }
  return {
    user: user as UserClaims,
    accessToken: tokens.access_token,
    accessTokenExpiresAt: now() + (tokens.expires_in ?? 3600),
    refreshToken: tokens.refresh_token,
    idToken,
    scope: tokens.scope,
  };
}

/**
 * oauth4webapi validates the claims of a token-endpoint ID token but not its signature (the TLS
 * channel authenticates it, OIDC Core §3.1.3.7 step 6); we check it anyway, and refuse any `aud`
 * other than exactly our client id.
 */
/** Clock difference tolerated between us and the IdP for `iat`. */
const ID_TOKEN_CLOCK_SKEW_S = 60;

async function verifyIdTokenSignature(idp: Idp, idToken: string): Promise<void> {
  try {
    const { payload } = await jwtVerify(idToken, idp.jwks, {
      algorithms: ['RS256'],
      issuer: idp.as.issuer,
      audience: idp.client.client_id,
    });
    if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + ID_TOKEN_CLOCK_SKEW_S) {
      throw new Error('the ID token was issued in the future');
    }
    const aud = payload.aud;
    if (
      Array.isArray(aud) ? aud.length !== 1 || aud[0] !== idp.client.client_id : aud !== idp.client.client_id
    ) {
      throw new Error('the ID token has audiences other than this client');
    }
  } catch (error) {
    if (isTimeoutError(error))
      throw new LoginError('idp_unavailable', 'the IdP keys could not be fetched', { cause: error });
    throw new LoginError('token_exchange_failed', 'the ID token signature did not validate', {
      cause: error,
    });
  }
}

function authorizationResponseFailure(error: unknown): LoginError {
  if (error instanceof oauth.AuthorizationResponseError) {
    const code: LoginErrorCode =
      error.error === 'access_denied'
        ? 'access_denied'
        : ['login_required', 'consent_required', 'interaction_required'].includes(error.error)
          ? 'login_required'
          : 'idp_error';
    return new LoginError(code, `the IdP answered error=${error.error}`, { cause: error });
  }
  return new LoginError('idp_error', 'the authorization response is not valid', { cause: error });
}

/**
 * Runs one call to the IdP and classifies its failure: unreachable, timed out or 5xx → the IdP
 * is unavailable; anything else it said → the exchange failed.
 */
export async function guardIdpCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof LoginError) throw error;
    throw new LoginError(
      isIdpUnavailable(error) ? 'idp_unavailable' : 'token_exchange_failed',
      'the IdP call failed',
      { cause: error },
    );
  }
}

/**
 * Network failure, timeout, or an HTTP 5xx/429 answer from the IdP: "try again later", as
 * opposed to the IdP (or its tokens) refusing the sign-in.
 */
export function isIdpUnavailable(error: unknown): boolean {
  if (isTimeoutError(error)) return true;
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) {
    return error.status >= 500 || error.status === 429;
  }
  if (error instanceof oauth.OperationProcessingError) {
    return error.cause instanceof Response && (error.cause.status >= 500 || error.cause.status === 429);
  }
  // fetch() rejects with a plain TypeError when no HTTP answer arrives (refused, reset, DNS);
  // oauth4webapi's own TypeErrors are programmer errors and carry an ERR_* code.
  return error instanceof TypeError && !(typeof (error as { code?: unknown }).code === 'string');
}
