import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '@okta-bff/oidc';
import { propagation, SpanKind, type TextMapSetter, trace } from '@opentelemetry/api';
import { parseStepUpChallenge, type StepUpCodec } from '../auth/step-up.ts';
import type { ClientAddress } from '../http/client-address.ts';
import type { RequestRecorder } from '../http/request-log.ts';
import { describeError, type Logger } from '../logger.ts';
import type { Metrics, UpstreamOutcome } from '../ops/metrics.ts';
import {
  endServerSpan,
  errorTypeOf,
  recordClientFailure,
  recordClientResponse,
  type ServerSpan,
  type Tracing,
} from '../ops/tracing.ts';
import { answerStepUp, writeError, writeResponse } from './api-response.ts';
import type { HeaderList } from './headers.ts';
import { API_PREFIX } from './parse-request.ts';
import type { Watched } from './upstream-clock.ts';
import { attemptHeaders, type UpstreamRequestPlan } from './upstream-request.ts';

/** What every exchange of one proxy shares. */
export interface ExchangeShared {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  readonly recordRequest: RequestRecorder;
  /** `X-Forwarded-Proto` and `-Host`: the app's public origin. */
  readonly forwardedProto: string;
  readonly forwardedHost: string;
  /** Gives back the in-flight slot a session's request held. */
  releaseSlot(sid: string): void;
  /** Where an upstream's step-up challenge is remembered (RFC 9470). */
  readonly stepUps: StepUpCodec;
  readonly publicOrigin: string;
  /** Epoch seconds. */
  nowS(): number;
}

/** Trace context into a header list (`traceparent`, `tracestate`). */
const INTO_LIST: TextMapSetter<HeaderList> = { set: (list, name, value) => void list.push(name, value) };
const outcomeOf = (status: number): UpstreamOutcome => (status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'ok');
const USE_DPOP_NONCE = /\buse_dpop_nonce\b/;
/** The path of a request target, without its query (which may carry a code or a user's data). */
const pathOf = (target = API_PREFIX) => {
  const queryAt = target.indexOf('?');
  return queryAt < 0 ? target : target.slice(0, queryAt);
};
const _isEventStream = (type: string | undefined) => type?.startsWith('text/event-stream') === true;

/**
 * One `/api` request from its start to its end: the state the steps share (the route, the
 * session's in-flight slot, the cookies to send back), the error answer, and the exchange with
 * the upstream (send, one DPoP-nonce retry, spans and metrics); the response is written by
 * `api-response.ts`.
 *
 * Built by {@link startExchange} from closures over one request's variables rather than as a
 * class instance: with the same steps as a class, the BFF spent 1.4× the CPU per request, most
 * of it in the garbage collector (young objects outliving scavenges: 4.7 → 23 ms of minor GC
 * per 1,000 requests, 1 → 20 major GCs in 5 s; bench/FINDINGS.md §11).
 */
export interface ApiExchange {
  readonly requestId: string;
  /** The request's path (no query), once parsed. */
  path: string | undefined;
  /** The route that served it, once known: its name goes into the log line and metrics. */
  routeName: string | undefined;
  httpRoute: string | undefined;
  setCookie: string[] | undefined;
  /** The session (or address) whose in-flight count this request holds (released when it ends). */
  countedSession: string | undefined;
  /** With DPoP: a small body read whole, so that a nonce retry can send it again. */
  replayBody: Buffer | undefined;
  /** The user's own token went upstream: a step-up challenge in its answer is the user's to meet. */
  userTokenSent: boolean;
  /** The response is over (answered, or the client went away), maybe while admission awaited. */
  isClosed(): boolean;
  /** Answers with the JSON error of `code` (or cuts the client off, once an answer has begun). */
  fail(
    code: ErrorCode,
    message: string,
    extra?: Readonly<Record<string, string>>,
    fields?: Readonly<Record<string, string>>,
  ): void;
  /**
   * The exchange step: sends `plan` upstream, streaming the client's body (or the replayable
   * copy), under the route's clocks, with a client span and the upstream metrics; a DPoP nonce
   * challenge on a replayable request is answered by one more attempt with that nonce.
   */
  send(plan: UpstreamRequestPlan, nonce: string | undefined): void;
}

export function startExchange(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  address: ClientAddress,
  traced: ServerSpan | undefined,
  shared: ExchangeShared,
): ApiExchange {
  const start = performance.now();
  let closed = false;
  /** The upstream request in flight, torn down if the client goes away first. */
  let inFlight: ClientRequest | undefined;
  /** Its clocks (`upstream-clock.ts`), and whether one of them ran out. */
  let watched: Watched | undefined;
  let timedOut = false;
  let retried = false;
  /** Records the current attempt as timed out (metrics, span), unless it was answered. */
  let attemptTimedOut: (() => void) | undefined;

  const exchange: ApiExchange = {
    requestId,
    path: undefined,
    routeName: undefined,
    httpRoute: undefined,
    setCookie: undefined,
    countedSession: undefined,
    replayBody: undefined,
    userTokenSent: false,
    isClosed: () => closed,
    fail,
    send,
  };

  // `on`, not `once`, for events a request's own objects emit at most once ('close',
  // 'response') and for error handlers, which must stay attached anyway: no wrapper per
  // listener, and nothing to remove when it fires, on the hot path.
  res.on('close', () => {
    closed = true;
    watched?.stop();
    if (exchange.countedSession !== undefined) shared.releaseSlot(exchange.countedSession);
    // Torn down unless both directions completed: a client gone before its answer, or one whose
    // body never arrived whole although the upstream answered early (its pooled socket would
    // otherwise wait forever for the rest of a request nobody will finish).
    if (inFlight && !(res.writableFinished && inFlight.writableFinished)) {
      inFlight.destroy();
      // The rest of an unfinished body is read and dropped, so a client that is still sending
      // can read its answer and reuse its connection.
      if (!req.complete) req.resume();
    }
    shared.recordRequest({
      reqId: requestId,
      method: req.method ?? '',
      path: exchange.path ?? pathOf(req.url),
      group: 'api',
      route: exchange.routeName,
      status: res.statusCode,
      ip: address.client,
      start,
    });
    if (traced) {
      const route = exchange.httpRoute;
      endServerSpan(
        traced.span,
        res.statusCode,
        route === undefined ? undefined : { method: req.method ?? '', route },
      );
    }
  });

  function fail(
    code: ErrorCode,
    message: string,
    extra: Readonly<Record<string, string>> = {},
    fields?: Readonly<Record<string, string>>,
  ): void {
    writeError(res, requestId, exchange.setCookie, code, message, extra, fields);
  }

  function send(plan: UpstreamRequestPlan, nonce: string | undefined): void {
    const { upstream } = plan;
    const routeName = upstream.route.name;
    const headers = attemptHeaders(
      plan,
      req.headers,
      {
        forwardedFor: address.forwardedFor,
        proto: shared.forwardedProto,
        host: shared.forwardedHost,
        requestId,
      },
      nonce,
    );
    // A request the sampler left out gets no client span, no attributes and no context built,
    // but still passes its (unsampled) trace context on, so that the API's parent-based sampler
    // drops it too.
    const upstreamSpan = traced?.span.isRecording()
      ? shared.tracing.tracer.startSpan(
          plan.method,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'http.request.method': plan.method,
              ...upstream.serverAttributes,
              // Without the query string: it may carry user data.
              'url.full': `${upstream.origin}${plan.path}`,
              'bff.route': routeName,
              ...(retried ? { 'http.request.resend_count': 1 } : {}),
            },
          },
          traced.context,
        )
      : undefined;
    if (traced) {
      const sent = upstreamSpan ? trace.setSpan(traced.context, upstreamSpan) : traced.context;
      propagation.inject(sent, headers, INTO_LIST);
    }
    const upstreamStart = performance.now();
    const upstreamReq = upstream.transport.request({
      agent: upstream.agent,
      method: plan.method,
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      path: plan.target,
      headers,
    });
    const upstreamDone = (outcome: UpstreamOutcome, status?: number, errorType: string = outcome) => {
      shared.metrics.observeUpstream(routeName, outcome, (performance.now() - upstreamStart) / 1000);
      if (upstreamSpan) {
        if (status !== undefined) recordClientResponse(upstreamSpan, status);
        else recordClientFailure(upstreamSpan, errorType);
        upstreamSpan.setAttribute('bff.outcome', outcome);
        upstreamSpan.end();
      }
    };

    // Two clocks (the wait for the status line once the body is sent, and silence on the
    // connection): either ends the request as a timeout.
    inFlight = upstreamReq;
    if (watched) watched.replace(upstreamReq);
    else
      watched = upstream.clock.watch(upstreamReq, () => {
        timedOut = true;
        attemptTimedOut?.();
        inFlight?.destroy();
        // Answered here, not on the request's 'error': a request still waiting for a pooled
        // socket emits none until it gets one. Once the answer has begun, this cuts it off.
        fail('upstream_timeout', 'The API did not answer in time.');
      });
    let responded = false;
    attemptTimedOut = () => {
      if (!responded) upstreamDone('timeout');
    };

    upstreamReq.on('response', (upstreamRes) => {
      responded = true;
      watched?.responded();
      const status = upstreamRes.statusCode ?? 502;
      upstreamDone(outcomeOf(status), status);
      if (plan.proofKey && retryWithNonce(plan, upstreamReq, upstreamRes, status)) return;
      if (status === 401 && exchange.userTokenSent) {
        const requirement = parseStepUpChallenge(upstreamRes.headers['www-authenticate']);
        if (requirement) {
          upstreamRes.resume();
          answerStepUp(exchange, req, shared, requirement, routeName);
          return;
        }
      }
      writeResponse(res, upstreamRes, status, requestId, exchange.setCookie, shared.logger);
    });
    upstreamReq.once('error', (error) => {
      watched?.stop();
      // A timeout was recorded and answered by the clock already.
      if (timedOut) return;
      if (!responded) upstreamDone('refused', undefined, errorTypeOf(error));
      if (!res.headersSent && !res.destroyed) {
        shared.logger.warn(
          { reqId: requestId, route: routeName, cause: describeError(error) },
          'upstream request failed',
        );
        fail('upstream_unavailable', 'The API is not reachable right now.');
      }
    });
    if (exchange.replayBody !== undefined) {
      // Read already (DPoP): sent whole, so that a retry can send it again.
      upstreamReq.end(exchange.replayBody);
      return;
    }
    if (plan.framing.kind === 'none') {
      // Nothing of the client's connection is copied into a request without a body.
      upstreamReq.end();
      return;
    }
    // Stream the request body as it arrives; a client that goes away tears the upstream request down.
    req.pipe(upstreamReq);
    req.on('error', (error) => upstreamReq.destroy(error));
  }

  /** RFC 9449 §9: sends the request once more with the API's nonce, when it asks for one. True when it did. */
  function retryWithNonce(
    plan: UpstreamRequestPlan,
    upstreamReq: ClientRequest,
    upstreamRes: IncomingMessage,
    status: number,
  ): boolean {
    const nonce = nonceToRetryWith(plan, upstreamRes, status, exchange.replayBody !== undefined && !retried);
    if (nonce === undefined) return false;
    retried = true;
    upstreamRes.resume();
    // This attempt is over: a late socket error on it must not answer the client.
    upstreamReq.removeAllListeners('error');
    upstreamReq.on('error', () => {
      // The retry answers the client; this request's fate no longer matters.
    });
    try {
      send(plan, nonce);
    } catch (error) {
      // Inside an event handler nothing above would catch it: answer here.
      shared.logger.warn({ reqId: requestId, cause: describeError(error) }, 'DPoP retry failed');
      fail('upstream_unavailable', 'The API is not reachable right now.');
    }
    return true;
  }

  return exchange;
}

/**
 * RFC 9449 §9: keeps the API's latest DPoP nonce for the next proofs, and returns it when this
 * answer is a `use_dpop_nonce` challenge that the request may answer (`mayRetry`: its body can be
 * replayed and it was not retried yet).
 */
function nonceToRetryWith(
  plan: UpstreamRequestPlan,
  upstreamRes: IncomingMessage,
  status: number,
  mayRetry: boolean,
): string | undefined {
  const given = upstreamRes.headers['dpop-nonce'];
  if (typeof given === 'string' && given.length <= 512) plan.upstream.dpopNonce = given;
  if (status !== 401 || !mayRetry || typeof given !== 'string') return undefined;
  return USE_DPOP_NONCE.test(String(upstreamRes.headers['www-authenticate'] ?? '')) ? given : undefined;
}
