/**
 * The API's one runtime error type: a stable `code` to branch on, the HTTP status
 * it maps to, and the original `cause` for the log. `app.ts`'s `onError` turns it into
 * `{"error": code, "message": message}`; anything else becomes a 500 without details.
 */

/** Stable error codes of `{"error": <code>, "message": ...}` bodies. Branch on these, never on `message`. */
export const API_ERROR_CODES = [
  /** No bearer credentials at all (RFC 6750 §3.1: the challenge then carries no error attribute). */
  'unauthenticated',
  /**
   * Credentials that are malformed, expired, for another issuer/audience, or badly signed; or a
   * token presented under the wrong scheme (a DPoP-bound token as `Bearer`, an unbound one as `DPoP`).
   */
  'invalid_token',
  /** A DPoP-bound token whose `DPoP` proof is missing or fails a check of RFC 9449 §4.3. */
  'invalid_dpop_proof',
  /** The proof lacks the server nonce, or carries a stale one: retry with `DPoP-Nonce` (RFC 9449 §9). */
  'use_dpop_nonce',
  /** A valid token without the scope the route requires (RFC 6750 §3.1): 403, the challenge names the scope. */
  'insufficient_scope',
  /**
   * A valid token whose sign-in is too weak or too old for the route (RFC 9470 §3): 401, the
   * challenge names the `acr_values` and `max_age` that would do.
   */
  'insufficient_user_authentication',
  /** The issuer's metadata or keys could not be fetched: not the caller's fault, so not a 401. */
  'idp_unavailable',
  'bad_request',
  'item_limit_reached',
  'payload_too_large',
  'not_found',
  /** The server takes no more WebSocket connections right now (at its limit, or shutting down). */
  'service_unavailable',
  'internal_error',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Body of every error response of the API. */
export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
}

/** HTTP status codes this API answers errors with. */
export type ApiErrorStatus = 400 | 401 | 403 | 404 | 413 | 500 | 503;

/**
 * The HTTP authentication schemes the API accepts; on a 401 it names the challenge answered
 * (`WWW-Authenticate: Bearer ...` or `DPoP ...`).
 *
 * @see RFC 6750 §3 (Bearer), RFC 9449 §7.1 (DPoP)
 */
export type AuthScheme = 'Bearer' | 'DPoP';

export interface ApiErrorOptions {
  cause?: unknown;
  /** For a 401 or 403: the scheme whose challenge answers it (default `Bearer`). */
  scheme?: AuthScheme;
  /** For `insufficient_scope`: the scope the route requires, named in the challenge. */
  scope?: string;
  /** For `insufficient_user_authentication`: what the challenge asks for (RFC 9470 §3). */
  stepUp?: StepUpChallenge;
}

/** The authentication a step-up challenge asks for. */
export interface StepUpChallenge {
  /** `acr_values`, in order of preference (acr tokens: no `"`, `\` or space inside one). */
  readonly acrValues: readonly string[];
  /** `max_age`, in seconds. */
  readonly maxAgeS: number;
}

/**
 * A failure the caller can be told about. `message` is a fixed human sentence chosen by this
 * code (never a library's message, which could echo input), safe to send and to put in
 * `error_description` (no `"` or `\`, RFC 6750 §3).
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: ApiErrorStatus;
  /** For a 401 or 403: the scheme of the `WWW-Authenticate` challenge that answers it. */
  readonly scheme: AuthScheme;
  /** For `insufficient_scope`: the scope required (a scope token: no `"` or `\`, RFC 6749 §3.3). */
  readonly scope: string | undefined;
  /** For `insufficient_user_authentication`: the authentication asked for. */
  readonly stepUp: StepUpChallenge | undefined;

  constructor(code: ApiErrorCode, status: ApiErrorStatus, message: string, options: ApiErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.scheme = options.scheme ?? 'Bearer';
    this.scope = options.scope;
    this.stepUp = options.stepUp;
  }
}
