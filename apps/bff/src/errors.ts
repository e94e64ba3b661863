import type { ErrorCode, LoginErrorCode } from '@okta-bff/oidc';

/** Every stable code a runtime failure of the BFF can carry: an HTTP error code or a `login_error`. */
export type BffErrorCode = ErrorCode | LoginErrorCode;

export type BffErrorStatus = 400 | 401 | 403 | 404 | 405 | 413 | 500 | 502 | 503 | 504;

/**
 * The one runtime error class of the BFF: a stable `code` (part of the HTTP contract: an `error`
 * in a JSON body, or a `login_error` in the callback's redirect), the HTTP `status` it maps to,
 * and the original `cause` for the log. Branch on `code`, never on `message`. Configuration and
 * programmer errors are `TypeError`s thrown at start-up instead.
 */
export class BffError extends Error {
  readonly code: BffErrorCode;
  readonly status: BffErrorStatus;

  constructor(code: BffErrorCode, status: BffErrorStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BffError';
    this.code = code;
    this.status = status;
  }
}

/** True for the errors `fetch` and `AbortSignal.timeout` raise when the peer does not answer in time. */
export function isTimeoutError(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');
}
