import { errors as jose } from 'jose';
import * as oauth from 'oauth4webapi';
import { isTimeoutError } from '../errors.ts';
import { JwksUnavailableError } from './idp.ts';

/**
 * What went wrong in a call to the IdP, as the one classification that sign-in, refresh and
 * revocation share:
 *
 * - `unavailable`: no answer (refused, reset, DNS, timeout) or one that says "later" (5xx, 429).
 *   Retrying later may succeed; nothing about the user's grant is known.
 * - `refused`: the IdP stated an OAuth error with a 4xx status (RFC 6749 §5.2, or a
 *   `WWW-Authenticate` challenge): the grant or code is not good. Retrying cannot help.
 * - `invalid_response`: the IdP answered, but not with something we can accept (a body that is
 *   not OAuth, a token that does not validate, a claim that does not match). The IdP (or whatever
 *   answers in its place) is misbehaving: never treated as "unavailable", which would keep a
 *   session going on an answer we refused to believe.
 */
export type IdpFailureKind = 'unavailable' | 'refused' | 'invalid_response';

const isLaterStatus = (status: number) => status >= 500 || status === 429;

/**
 * The IdP answered, and what it said is not acceptable: a token whose claims do not hold, a
 * refresh that changed the subject, a token type other than the one asked for. Always
 * `invalid_response`: never mistaken for an outage, which would keep a session going on an answer
 * we refused to believe.
 */
export class InvalidIdpAnswerError extends Error {
  override readonly name = 'InvalidIdpAnswerError';
}

export function classifyIdpFailure(error: unknown): IdpFailureKind {
  if (error instanceof InvalidIdpAnswerError) return 'invalid_response';
  if (isTimeoutError(error) || error instanceof jose.JWKSTimeout || error instanceof JwksUnavailableError) {
    return 'unavailable';
  }
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) {
    return isLaterStatus(error.status) ? 'unavailable' : 'refused';
  }
  if (error instanceof oauth.OperationProcessingError) {
    return error.cause instanceof Response && isLaterStatus(error.cause.status)
      ? 'unavailable'
      : 'invalid_response';
  }
  // fetch() rejects with a plain TypeError when no HTTP answer arrives (refused, reset, DNS);
  // oauth4webapi's own TypeErrors are programmer errors and carry an ERR_* code.
  if (error instanceof TypeError && typeof (error as { code?: unknown }).code !== 'string')
    return 'unavailable';
  return 'invalid_response';
}

/** `Retry-After` is honoured up to this long; a larger value is clamped (the client can ask again). */
const MAX_RETRY_AFTER_S = 300;

/**
 * The IdP's `Retry-After` on a 429 or 503 (Okta sends it with its rate limits), in whole seconds
 * from now, clamped to 1..300; `undefined` when the failure carries none.
 *
 * @see RFC 9110 §10.2.3; https://developer.okta.com/docs/reference/rl-best-practices/
 */
export function retryAfterOf(error: unknown, nowMs = Date.now()): number | undefined {
  const value = responseOf(error)?.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value) ? Number(value) : Math.ceil((Date.parse(value) - nowMs) / 1000);
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(MAX_RETRY_AFTER_S, Math.max(1, seconds));
}

/**
 * True when the IdP answered 429 (Okta's rate limit), with or without `Retry-After`: nobody should
 * ask again for a while. (A 503 backs off only when it says how long, through `Retry-After`.)
 */
export function isRateLimited(error: unknown): boolean {
  return responseOf(error)?.status === 429;
}

/** The IdP's HTTP answer behind a failure of oauth4webapi, when there was one. */
function responseOf(error: unknown): Response | undefined {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError)
    return error.response;
  if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response) return error.cause;
  return undefined;
}

/** An OAuth `error` code as the IdP sent it (RFC 6749 §5.2: a short ASCII token), for a log line. */
const ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * What the IdP answered, for the reason of a log line: ` (HTTP 403, error=unauthorized_client,
 * from https://idp.example/oauth2/v1/token)`, or `''` when it did not answer. Only the status, the
 * OAuth `error` code and the endpoint without its query: never a body, a token or a secret.
 */
export function describeIdpAnswer(error: unknown): string {
  const response = responseOf(error);
  if (!response) return '';
  const parts = [`HTTP ${response.status}`];
  const code =
    error instanceof oauth.ResponseBodyError
      ? error.error
      : error instanceof oauth.WWWAuthenticateChallengeError
        ? error.cause[0]?.parameters.error
        : undefined;
  if (typeof code === 'string' && ERROR_CODE.test(code)) parts.push(`error=${code}`);
  if (response.url) {
    const url = new URL(response.url);
    parts.push(`from ${url.origin}${url.pathname}`);
  }
  return ` (${parts.join(', ')})`;
}
