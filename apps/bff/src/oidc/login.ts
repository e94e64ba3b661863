import type { LoginErrorCode, Prompt, ResponseMode, StepUpRequirement, UserClaims } from '@okta-bff/oidc';
import type { Context } from '@opentelemetry/api';
import { calculateJwkThumbprint } from 'jose';
import * as oauth from 'oauth4webapi';
import { LoginError } from '../errors.ts';
import { type DpopKey, dpopHandle, generateDpopKey, withDpopNonceRetry } from './dpop.ts';
import { verifyIdToken } from './id-token.ts';
import { type Idp, requestOptions } from './idp.ts';
import { classifyIdpFailure, describeIdpAnswer } from './idp-failure.ts';

/** A login in flight, bound to one browser by its transaction cookie. */
export interface Transaction {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
  /**
   * With PAR and DPoP: the session's DPoP key, made before the login so the pushed request can
   * bind the authorization code to it (`dpop_jkt`). Sealed in the transaction cookie as it is in
   * the session's, never sent anywhere else.
   */
  readonly dpopKey?: DpopKey;
  /**
   * A step-up login (RFC 9470): what the new sign-in must show (`acr`, `auth_time`), checked at
   * the callback before the session is replaced.
   */
  readonly stepUp?: StepUpRequirement;
}

/** A failed sign-in: the code goes to `/?login_error=<code>`, the cause to the log only. */
export function loginFailure(code: LoginErrorCode, message: string, cause?: unknown): LoginError {
  return new LoginError(code, message, { cause });
}

export interface AuthorizationRequestOptions {
  readonly scopes: readonly string[];
  readonly prompt: Prompt | undefined;
  readonly responseMode: ResponseMode;
  readonly returnTo: string;
  /** A step-up: `acr_values` and `max_age` are asked for (`prompt=login` when `max_age` is 0). */
  readonly stepUp?: StepUpRequirement;
}

/**
 * A fresh authorization request: new `state`, `nonce` and PKCE verifier (S256) for every login,
 * returned with the transaction that must be bound to this browser. Pushed (PAR) with DPoP, it
 * also makes the session's DPoP key and binds the code to it with `dpop_jkt`. `parent`: the
 * login request's trace context, for the pushed request's span.
 *
 * @see RFC 7636 (PKCE); OpenID Connect Core §3.1.2.1; RFC 9449 §10
 */
export async function buildAuthorizationRequest(
  idp: Idp,
  options: AuthorizationRequestOptions,
  parent?: Context,
): Promise<{ url: URL; transaction: Transaction }> {
  if (!idp.as.authorization_endpoint) throw new TypeError('the IdP metadata has no authorization_endpoint');
  const dpopKey = idp.usePar && idp.useDpop ? await generateDpopKey() : undefined;
  const transaction: Transaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier: oauth.generateRandomCodeVerifier(),
    returnTo: options.returnTo,
    ...(dpopKey ? { dpopKey } : {}),
    ...(options.stepUp ? { stepUp: options.stepUp } : {}),
  };
  const url = new URL(idp.as.authorization_endpoint);
  const params = idp.usePar ? new URLSearchParams() : url.searchParams;
  params.set('client_id', idp.client.client_id);
  params.set('redirect_uri', idp.redirectUri);
  params.set('response_type', 'code');
  params.set('scope', options.scopes.join(' '));
  params.set('state', transaction.state);
  params.set('nonce', transaction.nonce);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(transaction.codeVerifier));
  params.set('code_challenge_method', 'S256');
  if (options.responseMode !== 'query') params.set('response_mode', options.responseMode);
  const { stepUp } = options;
  // A step-up that wants a fresh sign-in overrides `OKTA_PROMPT` (even `none`).
  const prompt = stepUp?.maxAgeS === 0 ? 'login' : options.prompt;
  if (prompt) params.set('prompt', prompt);
  if (stepUp && stepUp.acrValues.length > 0) params.set('acr_values', stepUp.acrValues.join(' '));
  if (stepUp?.maxAgeS !== undefined) params.set('max_age', String(stepUp.maxAgeS));
  // RFC 9449 §10: the IdP issues the code for this key only, so a stolen code cannot be
  // redeemed with another key.
  if (dpopKey) params.set('dpop_jkt', await calculateJwkThumbprint(dpopKey));
  if (idp.usePar) {
    // RFC 9126: the parameters go to the IdP over the back channel, authenticated as the client;
    // the browser's URL carries only client_id and the one-time request_uri.
    const pushed = await guardIdpCall('pushed authorization request', async () => {
      const response = await oauth.pushedAuthorizationRequest(
        idp.as,
        idp.client,
        idp.clientAuth.par,
        params,
        requestOptions(idp, parent),
      );
      return oauth.processPushedAuthorizationResponse(idp.as, idp.client, response);
    });
    url.searchParams.set('client_id', idp.client.client_id);
    url.searchParams.set('request_uri', pushed.request_uri);
  }
  return { url, transaction };
}

/** What a successful code exchange yields, before it becomes a session. */
export interface LoginResult {
  readonly user: UserClaims;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  /** The IdP's session id (`sid` of the ID token), for front- and back-channel logout. */
  readonly idpSid: string | undefined;
  readonly scope: string | undefined;
  /** With DPoP: the session's key, to which the tokens are bound. */
  readonly dpopKey: DpopKey | undefined;
  /** The ID token's `acr` and `auth_time` (epoch seconds): how and when the user authenticated. */
  readonly acr: string | undefined;
  readonly authTimeS: number | undefined;
}

/** ID-token claims that describe the protocol exchange, not the user: kept out of the session's user. */
export const PROTOCOL_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
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
 * `iss`, `error=`), exchanges the code with the PKCE verifier, validates the ID token (claims by
 * oauth4webapi; signature, `iss`, an exact `aud` and its age by jose against the discovered
 * JWKS), then calls userinfo and requires the same `sub`. `parent`: the callback's trace context,
 * for the token and userinfo calls' spans (the JWKS is fetched for no request in particular).
 *
 * @throws {LoginError} with the `login_error` code the user is sent back with.
 * @see OpenID Connect Core §3.1.3.7 (ID token validation), §5.3.2 (userinfo `sub`)
 */
export async function completeAuthorization(
  idp: Idp,
  transaction: Transaction,
  callbackParams: URLSearchParams,
  nowS = () => Math.floor(Date.now() / 1000),
  parent?: Context,
): Promise<LoginResult> {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(idp.as, idp.client, callbackParams, transaction.state);
  } catch (error) {
    throw authorizationResponseFailure(error);
  }

  const dpopKey = idp.useDpop ? (transaction.dpopKey ?? (await generateDpopKey())) : undefined;
  const dpop = dpopKey ? { DPoP: await dpopHandle(idp.client, dpopKey) } : {};
  const tokens = await guardIdpCall('code exchange', () =>
    withDpopNonceRetry(async () => {
      const response = await oauth.authorizationCodeGrantRequest(
        idp.as,
        idp.client,
        idp.clientAuth.token,
        params,
        idp.redirectUri,
        transaction.codeVerifier,
        { ...requestOptions(idp, parent), ...dpop },
      );
      return oauth.processAuthorizationCodeResponse(idp.as, idp.client, response, {
        expectedNonce: transaction.nonce,
        requireIdToken: true,
      });
    }),
  );
  if (dpopKey && tokens.token_type !== 'dpop') {
    // Asked for a sender-constrained token and got a bearer one: refuse the downgrade.
    throw loginFailure('token_exchange_failed', `the IdP issued a ${tokens.token_type} token, not DPoP`);
  }

  const idToken = tokens.id_token;
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  if (!idToken || !claims) throw loginFailure('token_exchange_failed', 'the token response has no ID token');
  await guardIdpCall('ID token check', () => verifyIdToken(idp, idToken, nowS()));

  const userinfo = await guardIdpCall('userinfo call', () =>
    withDpopNonceRetry(async () => {
      const response = await oauth.userInfoRequest(idp.as, idp.client, tokens.access_token, {
        ...requestOptions(idp, parent),
        ...dpop,
      });
      return oauth.processUserInfoResponse(idp.as, idp.client, claims.sub, response);
    }),
  );

  const user: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...claims, ...userinfo })) {
    if (!PROTOCOL_CLAIMS.has(name)) user[name] = value;
  }
  return {
    user: user as UserClaims,
    accessToken: tokens.access_token,
    accessTokenExpiresAt: nowS() + (tokens.expires_in ?? 3600),
    refreshToken: tokens.refresh_token,
    idToken,
    idpSid: typeof claims.sid === 'string' ? claims.sid : undefined,
    scope: tokens.scope,
    dpopKey,
    acr: typeof claims.acr === 'string' ? claims.acr : undefined,
    authTimeS: typeof claims.auth_time === 'number' ? claims.auth_time : undefined,
  };
}

function authorizationResponseFailure(error: unknown): LoginError {
  if (error instanceof oauth.AuthorizationResponseError) {
    const code: LoginErrorCode =
      error.error === 'access_denied'
        ? 'access_denied'
        : ['login_required', 'consent_required', 'interaction_required'].includes(error.error)
          ? 'login_required'
          : 'idp_error';
    return loginFailure(code, `the IdP answered error=${error.error}`, error);
  }
  return loginFailure('idp_error', 'the authorization response is not valid', error);
}

/**
 * Runs one step of the sign-in that talks to the IdP and turns its failure into the login code:
 * unavailable → `idp_unavailable`; refused or an answer we cannot accept → `token_exchange_failed`.
 * The reason says which step failed and how (the IdP's status and OAuth `error` when it sent
 * them); the cause, for the log, keeps the rest (`describeError`): never a secret.
 */
async function guardIdpCall<T>(step: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof LoginError) throw error;
    const kind = classifyIdpFailure(error);
    const answer = describeIdpAnswer(error);
    const reason =
      kind === 'unavailable'
        ? `the IdP could not be reached for the ${step}${answer}`
        : kind === 'refused'
          ? `the IdP refused the ${step}${answer}`
          : `the IdP's answer to the ${step} is not acceptable${answer}`;
    throw loginFailure(kind === 'unavailable' ? 'idp_unavailable' : 'token_exchange_failed', reason, error);
  }
}
