import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { CSRF_HEADER_VALUE, type ErrorBody, type ErrorCode } from '@okta-bff/oidc';
import { clearSessionCookies, sessionCookies } from '../auth/actions.ts';
import { describeError, type Logger } from '../logger.ts';
import { RefreshError } from '../oidc/tokens.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from '../proxy/headers.ts';
import { resolveUpstreamPath } from '../proxy/upstream-path.ts';
import type { Services } from '../services.ts';
import { serializeCookie } from '../session/cookies.ts';
import { parseCookieHeader } from '../session/session-reader.ts';

/**
 * `/api/<path>`: forwards the SPA's calls to `API_UPSTREAM_URL` with the session's access token
 * as a bearer, refreshing it first when it is about to expire.
 *
 * This route is a plain `node:http` handler, not a Hono route: it is the hot path, and piping
 * Node streams both ways over a keep-alive pool avoids converting every request and response
 * to and from Web streams (see bench/RESULTS.md).
 *
 * @see shared/DESIGN.md, "HTTP contract of the BFF", `/api/<path>`
 */

export const API_PREFIX = '/api';
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ALLOW_HEADER = [...ALLOWED_METHODS].join(', ');

export interface ApiProxyOptions {
  readonly upstreamUrl: string;
  readonly timeoutMs: number;
  readonly publicOrigin: string;
  readonly logger: Logger;
  readonly services: Services;
}

/** True when `url` (a request target) is `/api` or below it. */
export function isApiRequest(url: string | undefined): boolean {
  return !!url && url.startsWith(API_PREFIX) && (url.length === 4 || url[4] === '/' || url[4] === '?');
}

export function createApiProxy({ upstreamUrl, timeoutMs, publicOrigin, logger, services }: ApiProxyOptions) {
  const upstream = new URL(upstreamUrl);
  const transport = upstream.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({
    keepAlive: true,
    maxSockets: 512,
    maxFreeSockets: 64,
    scheduling: 'lifo',
  });
  const publicUrl = new URL(publicOrigin);
  const forwardedProto = publicUrl.protocol.slice(0, -1);
  const { auth, readSession, refresher } = services;
  const logRequests = logger.isLevelEnabled('info');

  return async function apiProxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const incomingId = req.headers['x-request-id'];
    const requestId =
      typeof incomingId === 'string' && /^[\w.:-]{1,64}$/.test(incomingId) ? incomingId : randomUUID();
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = (queryAt < 0 ? target : target.slice(0, queryAt)).slice(API_PREFIX.length);
    const query = queryAt < 0 ? '' : target.slice(queryAt);
    const setCookie: string[] = [];

    // One line per request at `info` (the production default); nothing is built when it is off.
    if (logRequests) {
      res.once('close', () => {
        logger.info(
          {
            reqId: requestId,
            method: req.method,
            path: `${API_PREFIX}${rawPath}`,
            status: res.statusCode,
            ms: Math.round((performance.now() - start) * 10) / 10,
          },
          'request',
        );
      });
    }

    const fail = (status: number, code: ErrorCode, message: string, extra: Record<string, string> = {}) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({ error: code, message } satisfies ErrorBody);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-request-id': requestId,
        ...(setCookie.length > 0 ? { 'set-cookie': setCookie } : {}),
        ...extra,
      });
      res.end(body);
    };

    const method = req.method ?? 'GET';
    if (!ALLOWED_METHODS.has(method)) {
      return fail(405, 'method_not_allowed', `${method} is not forwarded to the API.`, {
        allow: ALLOW_HEADER,
      });
    }

    const cookies = parseCookieHeader(req.headers.cookie);
    let session = await readSession(cookies);
    if (!session) {
      setCookie.push(...clearSessionCookies(auth, cookies).map(serializeCookie));
      return fail(401, 'unauthenticated', 'Sign in to use the API.');
    }
    if (req.headers['x-csrf'] !== CSRF_HEADER_VALUE || req.headers['sec-fetch-site'] === 'cross-site') {
      return fail(403, 'csrf_required', "This call needs the X-CSRF: 1 header from the app's own origin.");
    }
    const path = resolveUpstreamPath(upstream.pathname, rawPath);
    if (!path.ok) return fail(400, 'bad_request', `This API path is not allowed: ${path.reason}.`);

    try {
      const fresh = await refresher.ensureFresh(session);
      if (fresh.changed) {
        session = fresh.session;
        setCookie.push(...(await sessionCookies(auth, session, cookies)).map(serializeCookie));
      }
    } catch (error) {
      if (error instanceof RefreshError && error.code === 'idp_unavailable') {
        logger.warn(
          { reqId: requestId, sid: session.sid, cause: describeError(error) },
          'refresh failed: IdP unavailable',
        );
        return fail(503, 'idp_unavailable', 'The identity provider is not reachable. Try again in a moment.');
      }
      logger.info(
        { reqId: requestId, sid: session.sid, cause: describeError(error) },
        'session ended: refresh refused',
      );
      setCookie.push(...clearSessionCookies(auth, cookies).map(serializeCookie));
      return fail(401, 'session_expired', 'Your session has ended. Sign in again.');
    }

    const headers = upstreamRequestHeaders(req.headers, session.accessToken, {
      clientAddress: req.socket.remoteAddress,
      proto: forwardedProto,
      host: publicUrl.host,
      requestId,
    });
    const upstreamReq = transport.request({
      agent,
      method,
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      path: `${path.path}${query}`,
      headers,
    });

    // Two clocks: the whole wait for the status line once the request body is sent (a slow
    // upload is the client's pace, not the upstream's), and silence on the socket at any point
    // (connecting, or a body that stops flowing). Either ends the request as a timeout.
    let timedOut = false;
    let responded = false;
    let timer: NodeJS.Timeout | undefined;
    const timeOut = () => {
      timedOut = true;
      upstreamReq.destroy();
    };
    upstreamReq.once('finish', () => {
      if (!responded) timer = setTimeout(timeOut, timeoutMs);
    });
    upstreamReq.setTimeout(timeoutMs, timeOut);

    upstreamReq.once('response', (upstreamRes) => {
      responded = true;
      clearTimeout(timer);
      const outHeaders = clientResponseHeaders(upstreamRes.headers);
      if (setCookie.length > 0) outHeaders['set-cookie'] = setCookie;
      res.writeHead(upstreamRes.statusCode ?? 502, outHeaders);
      // `.pipe()` with explicit teardown, not `stream.pipeline()`: on Node 20 pipeline allocates
      // an AbortController per call and aborts it on success (a DOMException with a stack trace),
      // which was half of this route's CPU per request (bench/FINDINGS.md).
      upstreamRes.pipe(res);
      upstreamRes.once('error', (error) => {
        // The upstream broke mid-body: the status line is sent, so cut the client off too.
        logger.debug({ reqId: requestId, cause: describeError(error) }, 'response stream ended early');
        res.destroy();
      });
    });
    upstreamReq.once('error', (error) => {
      clearTimeout(timer);
      if (timedOut) {
        fail(504, 'upstream_timeout', 'The API did not answer in time.');
      } else if (!res.headersSent && !res.destroyed) {
        logger.warn({ reqId: requestId, cause: describeError(error) }, 'upstream request failed');
        fail(502, 'upstream_unavailable', 'The API is not reachable right now.');
      }
    });
    // Stream the request body as it arrives; a client that goes away tears the upstream request down.
    req.pipe(upstreamReq);
    req.once('error', (error) => upstreamReq.destroy(error));
    res.once('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
  };
}
