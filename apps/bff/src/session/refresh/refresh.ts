import type { Context } from '@opentelemetry/api';
import type { Session } from '../model/session.ts';

/** Refresh when the access token has this long or less left (docs/http-contract.md, "/api"). */
export const REFRESH_MARGIN_S = 60;
/** The tokens a refresh yields. */
export type SessionTokens = Pick<
  Session,
  'accessToken' | 'accessTokenExpiresAt' | 'refreshToken' | 'idToken' | 'scope'
>;

/**
 * What redeeming a refresh token came to, as a tagged value (the IdP's failures are classified by
 * whoever talks to it, not here):
 * - `unavailable`: try later; the session stays.
 * - `refused`: the IdP refused the grant; `invalid_response`: its answer did not validate. Either
 *   way the session ends.
 */
export type RefreshResult =
  | { readonly ok: true; readonly tokens: SessionTokens }
  | {
      readonly ok: false;
      readonly failure: 'unavailable' | 'refused' | 'invalid_response';
      readonly cause: unknown;
      /** The IdP's `Retry-After` (seconds) when it said when to come back (429, 503). */
      readonly retryAfterS?: number;
      /** The IdP answered 429: nobody should ask it again for a while. */
      readonly rateLimited?: boolean;
    };

/**
 * Redeems the session's refresh token at the IdP. Never throws: failures are results. `parent`:
 * the trace context of the request the refresh is for.
 */
export type RefreshFunction = (
  session: Session & { readonly refreshToken: string },
  parent?: Context,
) => Promise<RefreshResult>;

/**
 * Revokes a refresh token the BFF obtained but will not keep (a refresh that finished after its
 * session was ended elsewhere), best effort and bounded in time: it never throws (a failure is
 * the implementation's to log), and an unrevoked token still expires at the IdP on its own.
 * `session` is the one the token was obtained for (its id for the log, its DPoP key); `parent`
 * the trace context of the request whose refresh obtained it.
 *
 * @see RFC 7009 §2 (token revocation)
 */
export type RevokeFunction = (session: Session, refreshToken: string, parent?: Context) => Promise<void>;

/** What {@link RefreshCoordinator.ensureFresh} decided for a request. */
export type FreshSession =
  /** Use `session`; when `changed`, the caller must store it (new cookies). */
  | { readonly kind: 'fresh'; readonly session: Session; readonly changed: boolean }
  /** The session cannot continue: clear it, answer 401 `session_expired`. */
  | {
      readonly kind: 'ended';
      readonly reason: 'refused' | 'invalid_response' | 'no_refresh_token';
      readonly cause?: unknown;
    }
  /** The access token is expired and the IdP cannot be reached: keep the session, answer 503. */
  | { readonly kind: 'unavailable'; readonly cause: unknown; readonly retryAfterS?: number };

/**
 * Keeps sessions' access tokens fresh, with one refresh per session at a time. An interface so a
 * Redis-backed coordinator (one refresh across instances) can replace the in-process one.
 */
export interface RefreshCoordinator {
  /**
   * The session, refreshed when its access token expires within {@link REFRESH_MARGIN_S}.
   * `parent`: the asking request's trace context. Requests that share one refresh share the
   * first one's: its trace shows the IdP call, the others' show only their wait.
   */
  ensureFresh(session: Session, parent?: Context): Promise<FreshSession>;
}

/** The session with the refreshed tokens; the rest (user, sid, absolute end) never changes. */
export function applyTokens(session: Session, tokens: SessionTokens): Session {
  return {
    ...session,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
    idToken: tokens.idToken ?? session.idToken,
    scope: tokens.scope ?? session.scope,
  };
}

/** True when `session`'s access token must be refreshed before use at `nowS`. */
export function needsRefresh(session: Session, nowS: number): boolean {
  return session.accessTokenExpiresAt - nowS <= REFRESH_MARGIN_S;
}

/** What a session needs before a request may use it: the first half of the decision table. */
export type RefreshPlan =
  /** Use it as it is. */
  | { readonly kind: 'use' }
  /** Refresh it first, with this refresh token. */
  | { readonly kind: 'refresh'; readonly refreshToken: string }
  /** It cannot continue: its access token has expired and there is nothing to refresh it with. */
  | { readonly kind: 'end' };

const USE: RefreshPlan = Object.freeze({ kind: 'use' });
const END: RefreshPlan = Object.freeze({ kind: 'end' });

/**
 * The one decision both coordinators take for a session at `nowS` (the in-process one, and the
 * Redis one once it holds the lock and has re-read the record):
 *
 * | access token               | refresh token | plan      |
 * | -------------------------- | ------------- | --------- |
 * | more than the margin left  | any           | `use`     |
 * | within the margin, valid   | none          | `use`     |
 * | expired                    | none          | `end`     |
 * | within the margin/expired  | present       | `refresh` |
 */
export function planRefresh(session: Session, nowS: number): RefreshPlan {
  if (!needsRefresh(session, nowS)) return USE;
  const { refreshToken } = session;
  if (refreshToken !== undefined) return { kind: 'refresh', refreshToken };
  return session.accessTokenExpiresAt > nowS ? USE : END;
}

/**
 * The second half: what a failed refresh means for `session` at `nowS`. An IdP that cannot be
 * reached leaves the session as it is, usable while its access token lasts (503 after); a refusal
 * or an answer that does not validate ends it.
 */
export function afterFailedRefresh(
  session: Session,
  failure: Extract<RefreshResult, { ok: false }>,
  nowS: number,
): FreshSession {
  if (failure.failure !== 'unavailable')
    return { kind: 'ended', reason: failure.failure, cause: failure.cause };
  return session.accessTokenExpiresAt > nowS
    ? { kind: 'fresh', session, changed: false }
    : { kind: 'unavailable', cause: failure.cause, retryAfterS: failure.retryAfterS };
}

/** The decision table's answer for a plan that needs no IdP call. */
export function withoutRefresh(
  session: Session,
  plan: Exclude<RefreshPlan, { kind: 'refresh' }>,
): FreshSession {
  return plan.kind === 'use'
    ? { kind: 'fresh', session, changed: false }
    : { kind: 'ended', reason: 'no_refresh_token' };
}
