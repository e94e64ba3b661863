import type { ErrorCode, LoginErrorCode } from '@okta-bff/oidc';

/**
 * The HTTP status of every API error code: the one place that chooses a status. Everything that
 * answers an error (the Hono routes, the `/api` forwarder, the listener) writes the code and
 * takes the status from here.
 */
export const STATUS_OF_CODE = {
  bad_request: 400,
  unauthenticated: 401,
  session_expired: 401,
  step_up_required: 401,
  csrf_required: 403,
  not_found: 404,
  no_route: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  not_supported: 501,
  upstream_unavailable: 502,
  idp_unavailable: 503,
  session_store_unavailable: 503,
  service_unavailable: 503,
  upstream_timeout: 504,
} as const satisfies Record<ErrorCode, number>;

export type ErrorStatus = (typeof STATUS_OF_CODE)[ErrorCode];

/** The status of `code` (see {@link STATUS_OF_CODE}). */
export const statusOf = (code: ErrorCode): ErrorStatus => STATUS_OF_CODE[code];

/**
 * A request the BFF refuses or cannot serve, answered as JSON `{ error: code, message }` with the
 * code's status. The `message` is for people; branch on `code`. The `cause` goes to the log only.
 * Configuration and programmer errors are `TypeError`s thrown at start-up instead.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get status(): ErrorStatus {
    return STATUS_OF_CODE[this.code];
  }
}

/**
 * A sign-in that cannot complete: the browser goes back to `/?login_error=<code>` (the SPA says
 * it in its own words), the `cause` goes to the log only.
 */
export class LoginError extends Error {
  override readonly name = 'LoginError';
  readonly code: LoginErrorCode;

  constructor(code: LoginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for the errors `fetch` and `AbortSignal.timeout` raise when the peer does not answer in time. */
export function isTimeoutError(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');
}
