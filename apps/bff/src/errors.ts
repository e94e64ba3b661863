import type { ErrorCode } from '@okta-bff/oidc';

/**
 * The one runtime error class of the BFF: a stable `code` (part of the HTTP contract), the HTTP
 * `status` it maps to, and the original `cause` for the log. Configuration and programmer errors
 * are `TypeError`s thrown at start-up instead.
 */
export class BffError extends Error {
  readonly code: ErrorCode;
  readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 500 | 502 | 503 | 504;

  constructor(code: ErrorCode, status: BffError['status'], message: string, options?: { cause?: unknown }) {
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
