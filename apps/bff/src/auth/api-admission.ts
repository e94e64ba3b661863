import type { ApiRoute, ErrorCode, StepUpRequirement } from '@okta-bff/oidc';
import type { Context } from '@opentelemetry/api';
import { ApiError } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import {
  CSRF_MESSAGE,
  checkRequestOrigin,
  checkWebSocketOrigin,
  type OriginHeaders,
  WEBSOCKET_ORIGIN_MESSAGE,
} from '../http/request-origin.ts';
import { authenticationOf } from '../session/model/authentication.ts';
import type { Session } from '../session/model/session.ts';
import { CookieBudgetError } from '../session/store/cookies.ts';
import type { AuthContext } from './actions.ts';
import type { ClientTokens, UpstreamToken } from './client-tokens.ts';
import { meetsStepUp, STEP_UP_MESSAGE, stepUpLoginUrl, stepUpReturnTo } from './step-up.ts';

/**
 * May this `/api` request (or WebSocket handshake) go upstream, with which session and which
 * token? The answer of the gateway's admission step, with the cookies to send back either way.
 */
export type Admission =
  | {
      readonly ok: true;
      /** The signed-in session, when the route's policy looked for one and found it. */
      readonly session: Session | undefined;
      /** What goes upstream as `Authorization`; `undefined`: nothing (`none`, or `user-optional` signed out). */
      readonly token: UpstreamToken | undefined;
      readonly cookies: readonly CookieToSet[];
    }
  | {
      readonly ok: false;
      /** The answer's status is this code's (`errors.ts`). */
      readonly code: ErrorCode;
      readonly message: string;
      readonly cookies: readonly CookieToSet[];
      /** Extra response headers (`Retry-After`). */
      readonly headers?: Readonly<Record<string, string>>;
      /** More members of the error body (`login` of `step_up_required`). */
      readonly fields?: Readonly<Record<string, string>>;
    };

export interface ApiRequestFacts {
  /** For the event lines, like the Hono routes' lines carry it. */
  readonly requestId: string;
  readonly cookies: Readonly<Record<string, string>>;
  readonly origin: OriginHeaders;
  /** `Referer`: a step-up returns to its same-origin path. */
  readonly referer?: string | undefined;
  /**
   * A WebSocket handshake: a browser cannot add `X-CSRF` to it, so its `Origin` must be the app's
   * instead (cross-site WebSocket hijacking).
   */
  readonly websocket?: boolean;
  /** With tracing on, the request's server span as a trace context: its store and IdP calls' parent. */
  readonly traceParent?: Context | undefined;
}

/** What admission works with: the actions' context and the client-credentials tokens. */
export interface ApiAdmissionContext extends AuthContext {
  readonly clientTokens: ClientTokens;
}

const refuse = (
  code: ErrorCode,
  message: string,
  cookies: readonly CookieToSet[] = [],
  headers?: Readonly<Record<string, string>>,
): Admission => ({ ok: false, code, message, cookies, ...(headers ? { headers } : {}) });

const SESSION_ENDED = 'Your session has ended. Sign in again.';
const NO_COOKIES: readonly CookieToSet[] = [];
/** `none`: the same answer every time, nothing looked at. */
const NOTHING_TO_SEND: Admission = Object.freeze({
  ok: true,
  session: undefined,
  token: undefined,
  cookies: NO_COOKIES,
});

/** A session ended by what admission found (a refused refresh): `user-optional` goes on without a token. */
const endedSession = (required: boolean, deletions: readonly CookieToSet[]): Admission =>
  required
    ? refuse('session_expired', SESSION_ENDED, deletions)
    : { ok: true, session: undefined, token: undefined, cookies: deletions };

/**
 * The gateway's rule, as an action, in this order:
 *
 * 1. the anti-forgery rule (`X-CSRF` + Origin/Fetch-Metadata; for a WebSocket handshake, an
 *    `Origin` equal to the app's), else 403 `csrf_required`;
 * 2. a route (`route`, picked by the caller from `API_ROUTES`), else 404 `no_route`: decided
 *    before any session is looked at, so an unrouted path answers the same signed in or not;
 * 3. the route's token policy: `user` needs a session (401 `unauthenticated`, a cookie that did
 *    not open is cleared) and its access token, refreshed once per session at a time (a refused
 *    refresh ends the session: 401 `session_expired`; an unreachable IdP with an expired token:
 *    503 `idp_unavailable`, the session stays); `user-optional` is the same with a session, and no
 *    token, never a 401, without one; `client` is the BFF's own client-credentials token (503
 *    `idp_unavailable` when it cannot be had), after a session when the route requires one;
 *    `none` forwards no token and looks at no session. A route with `stepUp` whose requirement
 *    the session's sign-in (`acr`, `auth_time`) does not meet: 401 `step_up_required`, with the
 *    requirement sealed into the browser's step-up cookie.
 *
 * It never throws for an outage: a session store that cannot answer is 503
 * `session_store_unavailable`, like the other refusals.
 *
 * @see docs/http-contract.md, "/api"
 */
export async function admitApiRequest(
  ctx: ApiAdmissionContext,
  request: ApiRequestFacts,
  route: ApiRoute | undefined,
): Promise<Admission> {
  const origin = request.websocket
    ? checkWebSocketOrigin(request.origin, ctx.config.publicOrigin)
    : checkRequestOrigin(request.origin, ctx.config.publicOrigin);
  if (!origin.ok) {
    ctx.log('csrf_refused', { reqId: request.requestId, reason: origin.reason });
    return refuse('csrf_required', request.websocket ? WEBSOCKET_ORIGIN_MESSAGE : CSRF_MESSAGE);
  }
  if (!route) return refuse('no_route', 'No API is served at this path.');
  if (route.token === 'none') return NOTHING_TO_SEND;
  try {
    // Awaited here, one level deep (each level is a promise more per request on the hot path).
    return route.token === 'client'
      ? await admitClient(ctx, request, route)
      : await admitUser(ctx, request, route, route.token === 'user');
  } catch (error) {
    // A store that cannot answer (`session_store_unavailable`) is a refusal like the others.
    if (!(error instanceof ApiError)) throw error;
    ctx.log('api_refused', {
      reqId: request.requestId,
      route: route.name,
      code: error.code,
      cause: error.cause,
    });
    return refuse(error.code, error.message);
  }
}

/** `client`: the BFF's own token, after a session when the route requires one. */
async function admitClient(
  ctx: ApiAdmissionContext,
  request: ApiRequestFacts,
  route: ApiRoute,
): Promise<Admission> {
  let cookies = NO_COOKIES;
  let session: Session | undefined;
  if (route.sessionRequired) {
    const opened = await ctx.sessions.read(request.cookies, request.traceParent);
    if (!opened)
      return refuse('unauthenticated', 'Sign in to use the API.', ctx.sessions.clear(request.cookies));
    ({ session, cookies } = opened);
    if (route.stepUp && !meetsStepUp(authenticationOf(session), route.stepUp, nowS(ctx))) {
      return stepUpRequired(ctx, request, route, route.stepUp, cookies);
    }
  }
  return withClientToken(ctx, request, route, session, cookies);
}

async function withClientToken(
  ctx: ApiAdmissionContext,
  request: ApiRequestFacts,
  route: ApiRoute,
  session: Session | undefined,
  cookies: readonly CookieToSet[],
): Promise<Admission> {
  const got = await ctx.clientTokens.get(route.scopes, request.traceParent);
  if (got.ok) return { ok: true, session, token: got.token, cookies };
  ctx.log('client_token_unavailable', { reqId: request.requestId, route: route.name, cause: got.cause });
  return refuse(
    'idp_unavailable',
    'The identity provider is not reachable. Try again in a moment.',
    cookies,
    got.retryAfterS === undefined ? undefined : { 'retry-after': String(got.retryAfterS) },
  );
}

/** `user` (`required`) and `user-optional`: the session's own access token, kept fresh. */
async function admitUser(
  ctx: ApiAdmissionContext,
  request: ApiRequestFacts,
  route: ApiRoute,
  required: boolean,
): Promise<Admission> {
  const { cookies, requestId: reqId, traceParent } = request;
  const opened = await ctx.sessions.read(cookies, traceParent);
  if (!opened) {
    const cleared = ctx.sessions.clear(cookies);
    if (required) return refuse('unauthenticated', 'Sign in to use the API.', cleared);
    return { ok: true, session: undefined, token: undefined, cookies: cleared };
  }
  const { session } = opened;
  if (route.stepUp && !meetsStepUp(authenticationOf(session), route.stepUp, nowS(ctx))) {
    return stepUpRequired(ctx, request, route, route.stepUp, opened.cookies);
  }

  const fresh = await ctx.sessions.refresher.ensureFresh(session, traceParent);
  switch (fresh.kind) {
    case 'fresh': {
      if (!fresh.changed)
        return { ok: true, session: fresh.session, token: fresh.session, cookies: opened.cookies };
      try {
        const written = await ctx.sessions.write(fresh.session, cookies, traceParent);
        return { ok: true, session: fresh.session, token: fresh.session, cookies: written };
      } catch (error) {
        if (!(error instanceof CookieBudgetError)) throw error;
        ctx.log('session_ended', {
          reqId,
          sid: session.sid,
          route: route.name,
          reason: 'the refreshed session does not fit in cookies; set SESSION_STORE=redis',
          cause: error,
        });
        return endedSession(required, await ctx.sessions.end(session, cookies, traceParent));
      }
    }
    case 'ended':
      ctx.log('session_ended', {
        reqId,
        sid: session.sid,
        route: route.name,
        reason: fresh.reason,
        cause: fresh.cause,
      });
      return endedSession(required, await ctx.sessions.end(session, cookies, traceParent));
    case 'unavailable':
      ctx.log('refresh_unavailable', { reqId, sid: session.sid, route: route.name, cause: fresh.cause });
      return refuse(
        'idp_unavailable',
        'The identity provider is not reachable. Try again in a moment.',
        [],
        fresh.retryAfterS === undefined ? undefined : { 'retry-after': String(fresh.retryAfterS) },
      );
  }
}

const nowS = (ctx: AuthContext) => (ctx.nowMs?.() ?? Date.now()) / 1000;

/**
 * A route's `stepUp` the session does not meet: nothing is forwarded, the requirement is sealed
 * into this browser's step-up cookie, and the answer is 401 `step_up_required` with the login
 * link, as for an upstream's challenge (`proxy/api-exchange.ts`).
 */
async function stepUpRequired(
  ctx: ApiAdmissionContext,
  request: ApiRequestFacts,
  route: ApiRoute,
  requirement: StepUpRequirement,
  cookies: readonly CookieToSet[],
): Promise<Admission> {
  const returnTo = stepUpReturnTo(request.referer, ctx.config.publicOrigin);
  const { pending, cookie } = await ctx.stepUps.create(requirement, returnTo, nowS(ctx));
  ctx.log('step_up_required', {
    reqId: request.requestId,
    route: route.name,
    acrValues: requirement.acrValues,
    maxAgeS: requirement.maxAgeS,
  });
  return {
    ok: false,
    code: 'step_up_required',
    message: STEP_UP_MESSAGE,
    cookies: [...cookies, cookie],
    fields: { login: stepUpLoginUrl(pending) },
  };
}
