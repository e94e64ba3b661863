import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode, StepUpRequirement } from '@okta-bff/oidc';
import { STEP_UP_MESSAGE, stepUpLoginUrl, stepUpReturnTo } from '../auth/step-up.ts';
import { serializeCookie } from '../http/cookie-header.ts';
import { errorResponse } from '../http/error-response.ts';
import { describeError, type Logger } from '../logger.ts';
import type { ApiExchange, ExchangeShared } from './api-exchange.ts';
import { clientResponseHeaders } from './headers.ts';

/**
 * The respond step of an `/api` request: the upstream's answer passed on, an error of our own, or
 * a step-up required of the user. Plain functions of the request's objects, so that the exchange
 * (`api-exchange.ts`) keeps only what it must hold per request.
 */

const isEventStream = (type: string | undefined) => type?.startsWith('text/event-stream') === true;

/** The JSON error of `code` (or the client cut off, once an answer has begun). */
export function writeError(
  res: ServerResponse,
  requestId: string,
  setCookie: string[] | undefined,
  code: ErrorCode,
  message: string,
  extra: Readonly<Record<string, string>>,
  fields: Readonly<Record<string, string>> | undefined,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const error = errorResponse(code, message, fields);
  res.writeHead(error.status, {
    ...error.headers,
    'x-request-id': requestId,
    ...(setCookie ? { 'set-cookie': setCookie } : {}),
    ...extra,
  });
  res.end(error.body);
}

/**
 * RFC 9470: the API wants a stronger or more recent sign-in. The session stays as it is; the
 * requirement is sealed into this browser's step-up cookie (never handed to the page, which
 * could weaken it), and the SPA gets 401 `step_up_required` with the login link that names it.
 */
export function answerStepUp(
  exchange: ApiExchange,
  req: IncomingMessage,
  shared: ExchangeShared,
  requirement: StepUpRequirement,
  routeName: string,
): void {
  const referer = req.headers.referer;
  const returnTo = stepUpReturnTo(typeof referer === 'string' ? referer : undefined, shared.publicOrigin);
  shared.stepUps.create(requirement, returnTo, shared.nowS()).then(
    ({ pending, cookie }) => {
      shared.logger.info(
        {
          reqId: exchange.requestId,
          route: routeName,
          acrValues: requirement.acrValues,
          maxAgeS: requirement.maxAgeS,
        },
        'step-up required by the API',
      );
      exchange.setCookie = [...(exchange.setCookie ?? []), serializeCookie(cookie)];
      exchange.fail('step_up_required', STEP_UP_MESSAGE, {}, { login: stepUpLoginUrl(pending) });
    },
    (error: unknown) => {
      shared.logger.error(
        { reqId: exchange.requestId, cause: describeError(error) },
        'step-up not remembered',
      );
      exchange.fail('internal_error', 'Something went wrong on our side.');
    },
  );
}

/** The respond step: the upstream's status and filtered headers, then its body, streamed. */
export function writeResponse(
  res: ServerResponse,
  upstreamRes: IncomingMessage,
  status: number,
  requestId: string,
  setCookie: string[] | undefined,
  logger: Logger,
): void {
  if (res.headersSent || res.destroyed) {
    // Already answered (an error on an earlier attempt): drop this one.
    upstreamRes.resume();
    return;
  }
  const outHeaders = clientResponseHeaders(upstreamRes.headers);
  outHeaders.push('x-request-id', requestId);
  if (setCookie) outHeaders.push('set-cookie', setCookie);
  res.writeHead(status, outHeaders);
  // Node sends the head with the first body chunk; a stream of events may not send one for a
  // while, and the browser's `fetch()` waits for the head: send it now. Other answers keep head
  // and first chunk in one write.
  if (isEventStream(upstreamRes.headers['content-type'])) res.flushHeaders();
  // `.pipe()` with explicit teardown, not `stream.pipeline()`: on Node 20 pipeline allocates
  // an AbortController per call and aborts it on success (a DOMException with a stack trace),
  // which was half of this route's CPU per request (bench/FINDINGS.md). `pipe()` writes each
  // chunk as it arrives (server-sent events go out event by event; nothing here buffers).
  upstreamRes.pipe(res);
  upstreamRes.on('error', (error) => {
    // The upstream broke mid-body: the status line is sent, so cut the client off too.
    logger.debug({ reqId: requestId, cause: describeError(error) }, 'response stream ended early');
    res.destroy();
  });
}
