import type { ErrorCode } from '@okta-bff/oidc';
import { ApiError } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import { CSRF_MESSAGE, checkRequestOrigin, type OriginHeaders } from '../http/request-origin.ts';
import type { Session } from '../session/model/session.ts';
import { CookieBudgetError } from '../session/store/cookies.ts';
import type { AuthContext } from './actions.ts';

/**
 * May this `/api` request go upstream, and with which session? The answer of the gateway's
 * admission step, with the cookies to send back either way.
 */
export type Admission =
  | { readonly ok: true; readonly session: Session; readonly cookies: readonly CookieToSet[] }
  | {
      readonly ok: false;
      /** The answer's status is this code's (`errors.ts`). */
      readonly code: ErrorCode;
      readonly message: string;
      readonly cookies: readonly CookieToSet[];
      /** Extra response headers (`Retry-After`). */
      readonly headers?: Readonly<Record<string, string>>;
    };

export interface ApiRequestFacts {
  /** For the event lines, like the Hono routes' lines carry it. */
  readonly requestId: string;
  readonly cookies: Readonly<Record<string, string>>;
  readonly origin: OriginHeaders;
}

const refuse = (
  code: ErrorCode,
  message: string,
  cookies: readonly CookieToSet[] = [],
  headers?: Readonly<Record<string, string>>,
): Admission => ({ ok: false, code, message, cookies, ...(headers ? { headers } : {}) });

const SESSION_ENDED = 'Your session has ended. Sign in again.';

/**
 * The gateway's rule, as an action: a session (else 401 `unauthenticated`, and a cookie that did
 * not open is cleared), the anti-forgery rule (else 403 `csrf_required`), then an access token
 * that is fresh, refreshed once per session at a time. A refresh the IdP refused or answered
 * wrongly ends the session (401 `session_expired`, cookies cleared); an unreachable IdP with an
 * expired token is 503 `idp_unavailable` and the session stays.
 *
 * @see docs/http-contract.md, "/api"
 */
export async function admitApiRequest(ctx: AuthContext, request: ApiRequestFacts): Promise<Admission> {
  try {
    return await admit(ctx, request);
  } catch (error) {
    // A store that cannot answer (`session_store_unavailable`) is a refusal like the others.
    if (!(error instanceof ApiError)) throw error;
    ctx.log('api_refused', { reqId: request.requestId, code: error.code, cause: error.cause });
    return refuse(error.code, error.message);
  }
}

async function admit(ctx: AuthContext, request: ApiRequestFacts): Promise<Admission> {
  const { cookies, requestId: reqId } = request;
  const opened = await ctx.sessions.read(cookies);
  if (!opened) return refuse('unauthenticated', 'Sign in to use the API.', ctx.sessions.clear(cookies));
  const { session } = opened;

  const origin = checkRequestOrigin(request.origin, ctx.config.publicOrigin);
  if (!origin.ok) {
    ctx.log('csrf_refused', { reqId, sid: session.sid, reason: origin.reason });
    return refuse('csrf_required', CSRF_MESSAGE);
  }

  const fresh = await ctx.sessions.refresher.ensureFresh(session);
  switch (fresh.kind) {
    case 'fresh': {
      if (!fresh.changed) return { ok: true, session: fresh.session, cookies: opened.cookies };
      try {
        return {
          ok: true,
          session: fresh.session,
          cookies: await ctx.sessions.write(fresh.session, cookies),
        };
      } catch (error) {
        if (!(error instanceof CookieBudgetError)) throw error;
        ctx.log('session_ended', {
          reqId,
          sid: session.sid,
          reason: 'the refreshed session does not fit in cookies; set SESSION_STORE=redis',
          cause: error,
        });
        return refuse('session_expired', SESSION_ENDED, await ctx.sessions.end(session, cookies));
      }
    }
    case 'ended':
      ctx.log('session_ended', { reqId, sid: session.sid, reason: fresh.reason, cause: fresh.cause });
      return refuse('session_expired', SESSION_ENDED, await ctx.sessions.end(session, cookies));
    case 'unavailable':
      ctx.log('refresh_unavailable', { reqId, sid: session.sid, cause: fresh.cause });
      return refuse(
        'idp_unavailable',
        'The identity provider is not reachable. Try again in a moment.',
        [],
        fresh.retryAfterS === undefined ? undefined : { 'retry-after': String(fresh.retryAfterS) },
      );
  }
}
