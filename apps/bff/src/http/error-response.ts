import type { ErrorBody, ErrorCode } from '@okta-bff/oidc';
import { type ErrorStatus, statusOf } from '../errors.ts';

/**
 * The one JSON error writer: `{"error": <code>, "message": <sentence>}` with the code's status
 * (`errors.ts`) and the headers every error answer carries. Both request paths turn this
 * description into their own response.
 */
export interface ErrorResponse {
  readonly status: ErrorStatus;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** `fields`: more members of the body, after `error` and `message` (`login` of `step_up_required`). */
export function errorResponse(
  code: ErrorCode,
  message: string,
  fields?: Readonly<Record<string, string>>,
): ErrorResponse {
  const body = JSON.stringify({ error: code, message, ...fields } satisfies ErrorBody);
  return {
    status: statusOf(code),
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body,
  };
}

/** The same error as a Fetch API `Response` (what Hono handlers return). */
export function errorAsResponse(
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const e = errorResponse(code, message);
  return new Response(e.body, { status: e.status, headers: { ...e.headers, ...headers } });
}
