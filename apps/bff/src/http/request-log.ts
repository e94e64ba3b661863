import { randomUUID } from 'node:crypto';
import { infoLineWriter, type Logger } from '../logger.ts';
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
  /** `/api` requests: the name of the `API_ROUTES` entry that served it (`undefined`: none did). */
  readonly route?: string | undefined;
  readonly status: number;
  /** The client's address (the socket's, or the trusted `X-Forwarded-For` hop). */
  readonly ip: string | undefined;
  /** Start of the request, `performance.now()`. */
  readonly start: number;
}

export type RequestRecorder = (line: RequestLine) => void;

/**
 * What happens when a request ends: its metrics, and its line at `info` (skipped when `info` is
 * off), on the logger's own stream so that lines stay in order.
 *
 * The line is serialised here rather than by pino's `info()`: pino would redact it (about 20 µs
 * per line, bench/FINDINGS.md) and serialise a fresh object, for fields that are all chosen here
 * and never hold a secret. It is the line that `logger.info({ reqId, method, path, status, ip,
 * ms }, 'request')` writes, key for key (a test holds the two equal).
 */
export function createRequestRecorder(logger: Logger, metrics: Metrics): RequestRecorder {
  const writeLine = infoLineWriter(logger);
  return function recordRequest(line) {
    const ms = performance.now() - line.start;
    metrics.observeRequest(line.group, line.route ?? '', line.status, ms / 1000);
    if (!writeLine) return;
    const ip = line.ip === undefined ? '' : `,"ip":${JSON.stringify(line.ip)}`;
    // A configured name (`[a-z0-9-]+`): written as it is.
    const route = line.route === undefined ? '' : `,"route":"${line.route}"`;
    writeLine(
      `,"reqId":${JSON.stringify(line.reqId)},"method":${JSON.stringify(line.method)},"path":${JSON.stringify(line.path)}${route},"status":${line.status}${ip},"ms":${Math.round(ms * 10) / 10}`,
      'request',
    );
  };
}
