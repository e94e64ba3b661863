import type { IncomingMessage } from 'node:http';
import { type BodyFraming, requestBodyFraming } from './body-framing.ts';

/**
 * The first step of an `/api` request: what the client asked for, read once from the request
 * line and the framing fields, before anything else looks at it. A plain function of the
 * request's method, target and headers.
 */
export interface ParsedApiRequest {
  readonly ok: true;
  readonly method: string;
  /** The path as sent (still percent-encoded), `/api…`, without the query. */
  readonly path: string;
  /** `?…` as sent, or `''`. */
  readonly query: string;
  /** How the body is framed; the upstream copy is framed from this (`body-framing.ts`). */
  readonly framing: BodyFraming;
}

export type ParseRefusal = {
  readonly ok: false;
  readonly code: 'method_not_allowed' | 'bad_request';
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
};

export const API_PREFIX = '/api';
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ALLOW = { allow: [...ALLOWED_METHODS].join(', ') } as const;

/** True when `url` (a request target) is `/api` or below it. */
export function isApiRequest(url: string | undefined): boolean {
  return !!url && url.startsWith(API_PREFIX) && (url.length === 4 || url[4] === '/' || url[4] === '?');
}

/** Method and framing checked, target split into path and query. */
export function parseApiRequest(
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
): ParsedApiRequest | ParseRefusal {
  const method = req.method ?? 'GET';
  if (!ALLOWED_METHODS.has(method)) {
    return {
      ok: false,
      code: 'method_not_allowed',
      message: `${method} is not forwarded to the API.`,
      headers: ALLOW,
    };
  }
  const framed = requestBodyFraming(req.headers);
  if (!framed.ok) {
    return {
      ok: false,
      code: 'bad_request',
      message: `This request's body framing is not accepted: ${framed.reason}.`,
    };
  }
  const target = req.url ?? API_PREFIX;
  const queryAt = target.indexOf('?');
  return {
    ok: true,
    method,
    path: queryAt < 0 ? target : target.slice(0, queryAt),
    query: queryAt < 0 ? '' : target.slice(queryAt),
    framing: framed.framing,
  };
}
