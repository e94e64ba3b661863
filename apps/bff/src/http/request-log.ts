import { randomUUID } from 'node:crypto';
import { accessLogger, type Logger } from '../logger.ts';
import type { Metrics, RouteGroup } from '../ops/metrics.ts';

/**
 * The request id and the end of every request, shared by both request paths: the one log line
 * and the request metrics.
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
  readonly group: RouteGroup;
  readonly status: number;
  /** The client's address (the socket's, or the trusted `X-Forwarded-For` hop). */
  readonly ip: string | undefined;
  /** Start of the request, `performance.now()`. */
  readonly start: number;
}

export type RequestRecorder = (line: RequestLine) => void;

/**
 * What happens when a request ends: its metrics, and its line at `info` (skipped when `info` is
 * off). The line goes through {@link accessLogger}: a sibling of `logger` on the same stream
 * without the redaction pass, which cost about 20 µs per line (most of the hot path's logging
 * cost, bench/FINDINGS.md) for fields that are fixed here and never hold a secret.
 */
export function createRequestRecorder(logger: Logger, metrics: Metrics): RequestRecorder {
  const access = logger.isLevelEnabled('info') ? accessLogger(logger) : undefined;
  return function recordRequest(line) {
    const ms = performance.now() - line.start;
    metrics.observeRequest(line.group, line.status, ms / 1000);
    access?.info(
      {
        reqId: line.reqId,
        method: line.method,
        path: line.path,
        status: line.status,
        ip: line.ip,
        ms: Math.round(ms * 10) / 10,
      },
      'request',
    );
  };
}
