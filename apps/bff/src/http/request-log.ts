import { randomUUID } from 'node:crypto';
import { accessLogger, type Logger } from '../logger.ts';

/**
 * The request id and the one log line per request, shared by both request paths.
 */

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** The caller's `X-Request-Id` when it is well-formed (so a proxy's id carries through), else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

export interface RequestLine {
  readonly reqId: string;
  readonly method: string;
  /** The path only: a query string can carry an authorization code or `state`. */
  readonly path: string;
  readonly status: number;
  /** Start of the request, `performance.now()`. */
  readonly start: number;
}

/**
 * Writes the request's line at `info`. Callers skip building it when `info` is off.
 *
 * It goes through {@link accessLogger}: a sibling of `logger` on the same stream without the
 * redaction pass, which cost about 20 µs per line (most of the hot path's logging cost,
 * bench/FINDINGS.md) for fields that are fixed here and never hold a secret.
 */
export function logRequest(logger: Logger, line: RequestLine): void {
  accessLogger(logger).info(
    {
      reqId: line.reqId,
      method: line.method,
      path: line.path,
      status: line.status,
      ms: Math.round((performance.now() - line.start) * 10) / 10,
    },
    'request',
  );
}
