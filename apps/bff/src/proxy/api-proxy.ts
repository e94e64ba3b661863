import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { ErrorCode } from '@okta-bff/oidc';
import { context, propagation, type Span, SpanKind, type TextMapSetter, trace } from '@opentelemetry/api';
import type { AuthContext } from '../auth/actions.ts';
import { admitApiRequest } from '../auth/api-admission.ts';
import { clientAddress } from '../http/client-address.ts';
import { parseCookieHeader, serializeCookie } from '../http/cookie-header.ts';
import { errorResponse } from '../http/error-response.ts';
import { type RequestRecorder, requestIdFrom } from '../http/request-log.ts';
import { describeError, type Logger } from '../logger.ts';
import { createDpopProof } from '../oidc/dpop.ts';
import type { Metrics, UpstreamOutcome } from '../ops/metrics.ts';
import {
  endServerSpan,
  errorTypeOf,
  recordClientFailure,
  recordClientResponse,
  serverAttributes,
  startServerSpan,
  type Tracing,
} from '../ops/tracing.ts';
import { pushFramingField, requestBodyFraming } from './body-framing.ts';
import { createProofKeyCache, readReplayableBody } from './dpop-upstream.ts';
import { clientResponseHeaders, type HeaderList, upstreamRequestHeaders } from './headers.ts';
import { createUpstreamClock, type Watched } from './upstream-clock.ts';
import { resolveUpstreamPath } from './upstream-path.ts';

/**
 * `/api/<path>`: forwards the SPA's calls to `API_UPSTREAM_URL` with the session's access token
 * as a bearer, once the admission action (`auth/api-admission.ts`) has let the request through.
 *
 * A plain `node:http` handler, not a Hono route: it is the hot path, and piping Node streams
 * both ways over a keep-alive pool avoids converting every request and response to and from Web
 * streams (bench/FINDINGS.md). It shares the cookie parser, the anti-forgery rule, the request
 * id, the request's end (log line and metrics) and the JSON error writer with the Hono routes.
 *
 * @see docs/http-contract.md, "/api"
 */

export const API_PREFIX = '/api';
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ALLOW_HEADER = [...ALLOWED_METHODS].join(', ');
/**
 * Upstream requests one session may have in flight at once: far above what an SPA sends (a
 * browser opens six connections to an origin over HTTP/1.1; the benchmark drives 50 through one
 * session), far below the pool (`maxSockets`, 512). Without it, one signed-in user trickling
 * request bodies could hold every pooled upstream connection and stall everyone else's API
 * calls. Past it: 429 `rate_limited` with `Retry-After: 1`, nothing forwarded.
 */
export const MAX_IN_FLIGHT_PER_SESSION = 64;

export interface ApiProxyOptions {
  readonly upstreamUrl: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly auth: AuthContext;
  readonly recordRequest: RequestRecorder;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  /** `TRUST_PROXY`: hops whose `X-Forwarded-For` is believed. */
  readonly trustProxyHops: number;
}

/** True when `url` (a request target) is `/api` or below it. */
export function isApiRequest(url: string | undefined): boolean {
  return !!url && url.startsWith(API_PREFIX) && (url.length === 4 || url[4] === '/' || url[4] === '?');
}

/** Trace context into a header list (`traceparent`, `tracestate`). */
const INTO_LIST: TextMapSetter<HeaderList> = { set: (list, name, value) => void list.push(name, value) };
const headerValue = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
/** The /api server span's own attributes, the same for every request. */
const API_SPAN_ATTRIBUTES = { 'bff.route_group': 'api' } as const;
const outcomeOf = (status: number): UpstreamOutcome => (status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'ok');

export function createApiProxy(options: ApiProxyOptions) {
  const { upstreamUrl, timeoutMs, logger, auth, recordRequest, metrics, tracing, trustProxyHops } = options;
  const upstream = new URL(upstreamUrl);
  const transport = upstream.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({
    keepAlive: true,
    maxSockets: 512,
    maxFreeSockets: 64,
    scheduling: 'lifo',
  });
  const publicUrl = new URL(auth.config.publicOrigin);
  const forwardedProto = publicUrl.protocol.slice(0, -1);
  /** The API's latest DPoP nonce (RFC 9449 §9), sent in the next proofs. */
  let upstreamNonce: string | undefined;
  const proofKeyFor = createProofKeyCache();
  const clock = createUpstreamClock(timeoutMs);
  /** Upstream requests in flight per session id: an entry exists only while one is open. */
  const inFlightBySession = new Map<string, number>();
  const releaseSlot = (sid: string) => {
    const open = (inFlightBySession.get(sid) ?? 1) - 1;
    if (open > 0) inFlightBySession.set(sid, open);
    else inFlightBySession.delete(sid);
  };
  /** The upstream client span's attributes that never change (`server.address`, `server.port`). */
  const upstreamServer = serverAttributes(upstream);

  async function apiProxy(req: IncomingMessage, res: ServerResponse, span: Span | undefined): Promise<void> {
    const start = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = (queryAt < 0 ? target : target.slice(0, queryAt)).slice(API_PREFIX.length);
    const query = queryAt < 0 ? '' : target.slice(queryAt);
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxyHops);
    let setCookie: string[] | undefined;
    /** The upstream request in flight, torn down if the client goes away first. */
    let inFlight: ClientRequest | undefined;
    /** Its clocks (`upstream-clock.ts`), and whether one of them ran out. */
    let watched: Watched | undefined;
    let timedOut = false;
    /** The session whose in-flight count this request holds (released when it ends). */
    let countedSession: string | undefined;
    /** The response is over (answered, or the client went away), maybe while admission awaited. */
    let closed = false;
    /** Records the current attempt as timed out (metrics, span), unless it was answered. */
    let attemptTimedOut: (() => void) | undefined;

    // `on`, not `once`, for events a request's own objects emit at most once ('close',
    // 'response') and for error handlers, which must stay attached anyway: no wrapper per
    // listener, and nothing to remove when it fires, on the hot path.
    res.on('close', () => {
      closed = true;
      watched?.stop();
      if (countedSession !== undefined) releaseSlot(countedSession);
      // Torn down unless both directions completed: a client gone before its answer, or one whose
      // body never arrived whole although the upstream answered early (its pooled socket would
      // otherwise wait forever for the rest of a request nobody will finish).
      if (inFlight && !(res.writableFinished && inFlight.writableFinished)) {
        inFlight.destroy();
        // The rest of an unfinished body is read and dropped, so a client that is still sending
        // can read its answer and reuse its connection.
        if (!req.complete) req.resume();
      }
      recordRequest({
        reqId: requestId,
        method: req.method ?? '',
        path: `${API_PREFIX}${rawPath}`,
        group: 'api',
        status: res.statusCode,
        ip: address.client,
        start,
      });
      if (span) endServerSpan(span, res.statusCode);
    });

    const fail = (code: ErrorCode, message: string, extra: Readonly<Record<string, string>> = {}) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const error = errorResponse(code, message);
      res.writeHead(error.status, {
        ...error.headers,
        'x-request-id': requestId,
        ...(setCookie ? { 'set-cookie': setCookie } : {}),
        ...extra,
      });
      res.end(error.body);
    };

    const method = req.method ?? 'GET';
    if (!ALLOWED_METHODS.has(method)) {
      return fail('method_not_allowed', `${method} is not forwarded to the API.`, {
        allow: ALLOW_HEADER,
      });
    }

    // Read once, before anything else: the upstream copy is framed from this (body-framing.ts).
    const framed = requestBodyFraming(req.headers);
    if (!framed.ok)
      return fail('bad_request', `This request's body framing is not accepted: ${framed.reason}.`);
    const { framing } = framed;

    const admission = await admitApiRequest(auth, {
      requestId,
      cookies: parseCookieHeader(req.headers.cookie),
      origin: {
        csrf: headerValue(req.headers['x-csrf']),
        origin: headerValue(req.headers.origin),
        secFetchSite: headerValue(req.headers['sec-fetch-site']),
      },
    });
    if (admission.cookies.length > 0) setCookie = admission.cookies.map(serializeCookie);
    if (!admission.ok) return fail(admission.code, admission.message, admission.headers);

    const path = resolveUpstreamPath(upstream.pathname, rawPath);
    if (!path.ok) return fail('bad_request', `This API path is not allowed: ${path.reason}.`);

    // A client gone while admission awaited the store: nothing to send, and nothing to count
    // (its 'close' has passed, so a count taken now would never be released).
    if (closed) return;
    const { session } = admission;
    const open = inFlightBySession.get(session.sid) ?? 0;
    if (open >= MAX_IN_FLIGHT_PER_SESSION) {
      return fail(
        'rate_limited',
        'This session has too many API requests in progress; try again in a moment.',
        {
          'retry-after': '1',
        },
      );
    }
    inFlightBySession.set(session.sid, open + 1);
    countedSession = session.sid;
    const proofKey = session.dpopKey ? proofKeyFor(session, session.dpopKey) : undefined;
    const authorization = proofKey ? `DPoP ${session.accessToken}` : `Bearer ${session.accessToken}`;
    // With DPoP, a request may have to be sent twice (the API asks for a nonce, once): a small body
    // of known length is read first so it can be replayed; larger or chunked ones stream as usual
    // and a nonce challenge on them reaches the SPA (the next request carries the nonce).
    let replayBody: Buffer | undefined;
    if (proofKey) {
      try {
        replayBody = await readReplayableBody(req, framing);
      } catch (error) {
        logger.debug({ reqId: requestId, cause: describeError(error) }, 'request body not read');
        return fail('bad_request', 'The request body did not arrive whole.');
      }
    }
    let retried = false;

    const send = (nonce: string | undefined): void => {
      const headers = upstreamRequestHeaders(req.headers, upstream.host, authorization, {
        forwardedFor: address.forwardedFor,
        proto: forwardedProto,
        host: publicUrl.host,
        requestId,
      });
      pushFramingField(headers, framing, method);
      if (proofKey) {
        const proof = createDpopProof(proofKey, {
          method,
          url: `${upstream.origin}${path.path}`,
          ...(nonce === undefined ? {} : { nonce }),
        });
        headers.push('dpop', proof);
      }
      // A request the sampler left out gets no client span and no attributes built, but still
      // passes its (unsampled) trace context on, so that the API's parent-based sampler drops it too.
      const upstreamSpan = span?.isRecording()
        ? tracing.tracer.startSpan(
            method,
            {
              kind: SpanKind.CLIENT,
              attributes: {
                'http.request.method': method,
                ...upstreamServer,
                // Without the query string: it may carry user data.
                'url.full': `${upstream.origin}${path.path}`,
                ...(retried ? { 'http.request.resend_count': 1 } : {}),
              },
            },
            trace.setSpan(context.active(), span),
          )
        : undefined;
      if (span) propagation.inject(trace.setSpan(context.active(), upstreamSpan ?? span), headers, INTO_LIST);
      const upstreamStart = performance.now();
      const upstreamReq = transport.request({
        agent,
        method,
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        path: `${path.path}${query}`,
        headers,
      });
      const upstreamDone = (outcome: UpstreamOutcome, status?: number, errorType: string = outcome) => {
        metrics.observeUpstream(outcome, (performance.now() - upstreamStart) / 1000);
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
        watched = clock.watch(upstreamReq, () => {
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
        if (proofKey) {
          const given = upstreamRes.headers['dpop-nonce'];
          if (typeof given === 'string' && given.length <= 512) upstreamNonce = given;
          if (
            status === 401 &&
            replayBody !== undefined &&
            !retried &&
            typeof given === 'string' &&
            /\buse_dpop_nonce\b/.test(String(upstreamRes.headers['www-authenticate'] ?? ''))
          ) {
            // RFC 9449 §9: the API wants a nonce. Once, with the nonce it just gave.
            retried = true;
            upstreamRes.resume();
            // This attempt is over: a late socket error on it must not answer the client.
            upstreamReq.removeAllListeners('error');
            upstreamReq.on('error', () => {
              // The retry answers the client; this request's fate no longer matters.
            });
            try {
              send(given);
            } catch (error) {
              // Inside an event handler nothing above would catch it: answer here.
              logger.warn({ reqId: requestId, cause: describeError(error) }, 'DPoP retry failed');
              fail('upstream_unavailable', 'The API is not reachable right now.');
            }
            return;
          }
        }
        if (res.headersSent || res.destroyed) {
          // Already answered (an error on an earlier attempt): drop this one.
          upstreamRes.resume();
          return;
        }
        const outHeaders = clientResponseHeaders(upstreamRes.headers);
        outHeaders.push('x-request-id', requestId);
        if (setCookie) outHeaders.push('set-cookie', setCookie);
        res.writeHead(status, outHeaders);
        // `.pipe()` with explicit teardown, not `stream.pipeline()`: on Node 20 pipeline allocates
        // an AbortController per call and aborts it on success (a DOMException with a stack trace),
        // which was half of this route's CPU per request (bench/FINDINGS.md).
        upstreamRes.pipe(res);
        upstreamRes.on('error', (error) => {
          // The upstream broke mid-body: the status line is sent, so cut the client off too.
          logger.debug({ reqId: requestId, cause: describeError(error) }, 'response stream ended early');
          res.destroy();
        });
      });
      upstreamReq.once('error', (error) => {
        watched?.stop();
        // A timeout was recorded and answered by the clock already.
        if (timedOut) return;
        if (!responded) upstreamDone('refused', undefined, errorTypeOf(error));
        if (!res.headersSent && !res.destroyed) {
          logger.warn({ reqId: requestId, cause: describeError(error) }, 'upstream request failed');
          fail('upstream_unavailable', 'The API is not reachable right now.');
        }
      });
      if (replayBody !== undefined) {
        // Read already (DPoP): sent whole, so that a retry can send it again.
        upstreamReq.end(replayBody);
        return;
      }
      if (framing.kind === 'none') {
        // Nothing of the client's connection is copied into a request without a body.
        upstreamReq.end();
        return;
      }
      // Stream the request body as it arrives; a client that goes away tears the upstream request down.
      req.pipe(upstreamReq);
      req.on('error', (error) => upstreamReq.destroy(error));
    };
    send(proofKey ? upstreamNonce : undefined);
  }

  /** The handler; with tracing on, it runs inside the request's server span (IdP and Redis spans nest under it). */
  return function handleApiRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!tracing.enabled) return apiProxy(req, res, undefined);
    const { span, context: ctx } = startServerSpan(tracing, {
      method: req.method ?? '',
      target: req.url ?? '/',
      route: API_PREFIX,
      attributes: API_SPAN_ATTRIBUTES,
    });
    return context.with(ctx, () => apiProxy(req, res, span));
  };
}
