/**
 * The API's one runtime error type (STYLE.md §5): a stable `code` to branch on, the HTTP status
 * it maps to, and the original `cause` for the log. `app.ts`'s `onError` turns it into
 * `{"error": code, "message": message}`; anything else becomes a 500 without details.
 */

/** Stable error codes of `{"error": <code>, "message": ...}` bodies. Branch on these, never on `message`. */
export const API_ERROR_CODES = [
  /** No bearer credentials at all (RFC 6750 §3.1: the challenge then carries no error attribute). */
  'unauthenticated',
  /** Bearer credentials that are malformed, expired, for another issuer/audience, or badly signed. */
  'invalid_token',
  /** The issuer's metadata or keys could not be fetched: not the caller's fault, so not a 401. */
  'idp_unavailable',
  'bad_request',
  'item_limit_reached',
  'payload_too_large',
  'not_found',
  'internal_error',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Body of every error response of the API. */
export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
}

/** HTTP status codes this API answers errors with. */
export type ApiErrorStatus = 400 | 401 | 404 | 413 | 500 | 503;

/**
 * A failure the caller can be told about. `message` is a fixed human sentence chosen by this
 * code (never a library's message, which could echo input), safe to send and to put in
 * `error_description` (no `"` or `\`, RFC 6750 §3).
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: ApiErrorStatus;

  constructor(code: ApiErrorCode, status: ApiErrorStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}
