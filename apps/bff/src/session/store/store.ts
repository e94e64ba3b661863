import type { Context } from '@opentelemetry/api';
import type { CookieToSet } from '../../http/cookie-header.ts';
import type { Session } from '../model/session.ts';
import type { RefreshCoordinator } from '../refresh/refresh.ts';

/** A session opened from a request, and the cookies to send back with the answer (a renewed idle clock). */
export interface OpenedSession {
  readonly session: Session;
  readonly cookies: readonly CookieToSet[];
}

/** Which sessions a front- or back-channel logout ends. */
export interface SessionMatch {
  /** The IdP's session id (`sid` of the ID token). */
  readonly idpSid?: string;
  /** The user (`sub`): every session of theirs begun before `beforeS`. */
  readonly sub?: string;
  /** Epoch seconds. */
  readonly beforeS: number;
}

/** What ending sessions by match did: how many, and the refresh tokens to revoke where the store has them. */
export interface EndedSessions {
  readonly count: number;
  readonly refreshTokens: readonly string[];
}

/**
 * Sessions this store instance has just ended (logout, a logout channel, a refused refresh): their
 * ids, or `undefined` when the store cannot tell which ones (the cookie store ends matches it has
 * never seen, by IdP session or user). Told to {@link SessionStore.onSessionsEnded} listeners.
 */
export interface SessionsEnded {
  readonly sids: readonly string[] | undefined;
}

/**
 * What the browser said about itself at sign-in, for the user's list of their sessions. A store
 * keeps at most a coarse description of it (`http/user-agent.ts`), never the header itself.
 */
export interface SessionOrigin {
  /** The sign-in request's `User-Agent`. */
  readonly userAgent?: string | undefined;
}

/** One of a user's sessions, as the user sees it in their list (`GET /auth/sessions`). */
export interface UserSessionSummary {
  /**
   * Opaque and stable for the session: a keyed hash of its own (neither the cookie's handle nor the
   * record's key), so knowing it opens nothing. It names the session to {@link SessionStore.endById}.
   */
  readonly id: string;
  /** Sign-in time, epoch seconds. */
  readonly createdAt: number;
  /** Last use the store recorded, epoch seconds (coarse: see each store). */
  readonly lastSeenAt: number;
  /** A coarse description of the browser ("Chrome on Linux", "Unknown device"). */
  readonly device: string;
  /** The session the list was asked for. */
  readonly current: boolean;
}

/**
 * Where sessions live: sealed in the browser's cookie (the default), or in Redis with only a
 * handle in the cookie. Routes, the proxy and the actions use only this interface, so they never
 * know which one is in use.
 *
 * Every method that sees a request takes its cookies (name → value) and, where the browser must
 * change its cookies, returns them as {@link CookieToSet}s for the caller to send. A store that
 * cannot answer throws `ApiError` `session_store_unavailable` (503).
 *
 * The methods a request calls take its trace context last (`parent`, from its server span): a
 * store that calls a server (Redis) traces the call as that request's child. Without one (work of
 * no request, tracing off) such a span is a root, or none.
 */
export interface SessionStore {
  /** The request's session, or `undefined` (no cookie, or one that does not open, has expired, idled out or was ended). */
  read(cookies: Readonly<Record<string, string>>, parent?: Context): Promise<OpenedSession | undefined>;
  /**
   * Stores a new session (at login: a fresh id, and a fresh handle where the store uses one),
   * replacing whatever session the browser's cookies named, and returns it with its cookies.
   * @throws {CookieBudgetError} when it does not fit the browser's cookies.
   */
  create(
    fields: Omit<Session, 'sid'>,
    cookies: Readonly<Record<string, string>>,
    origin?: SessionOrigin,
    parent?: Context,
  ): Promise<{ session: Session; cookies: CookieToSet[] }>;
  /**
   * Stores a changed session (refreshed, or its idle clock renewed) and returns the cookies that carry it.
   * @throws {CookieBudgetError} when it does not fit the browser's cookies.
   */
  write(
    session: Session,
    cookies: Readonly<Record<string, string>>,
    parent?: Context,
  ): Promise<CookieToSet[]>;
  /** Ends `session` (if any) so it opens nowhere again, and returns the deletions of its cookies. */
  end(
    session: Session | undefined,
    cookies: Readonly<Record<string, string>>,
    parent?: Context,
  ): Promise<CookieToSet[]>;
  /** Deletions for every session cookie the browser sent (a cookie that did not open). */
  clear(cookies: Readonly<Record<string, string>>): CookieToSet[];
  /** Ends every session matching `match` wherever this store reaches (see each store for how far). */
  endMatching(match: SessionMatch, parent?: Context): Promise<EndedSessions>;
  /**
   * The live sessions of `session`'s user, `session` among them (`current`), as the user may see
   * them. Looking is not activity: no other session's idle clock is renewed.
   * @throws {ApiError} `not_supported` where the store cannot list a user's sessions (the cookie store).
   */
  listOfUser(session: Session, parent?: Context): Promise<readonly UserSessionSummary[]>;
  /**
   * Ends the session of `session`'s user whose {@link UserSessionSummary.id} is `id`, so it opens
   * nowhere again, and returns it (to revoke its refresh token; `session` itself when `id` is its
   * own: a logout). `undefined` when no live session of this user has that id: another user's id
   * and an unknown one are alike.
   * @throws {ApiError} `not_supported` (the cookie store).
   */
  endById(session: Session, id: string, parent?: Context): Promise<Session | undefined>;
  /**
   * Ends every other live session of `session`'s user and returns them (to revoke their refresh tokens).
   * @throws {ApiError} `not_supported` (the cookie store).
   */
  endOthers(session: Session, parent?: Context): Promise<readonly Session[]>;
  /**
   * Records `id` (a logout token's `jti`) until `untilS`; false when it was already recorded (a replay).
   */
  claimOnce(id: string, untilS: number, parent?: Context): Promise<boolean>;
  /** Forgets a claim, so that a request that failed after claiming can be sent again. */
  unclaim(id: string, parent?: Context): Promise<void>;
  /**
   * Whether each of `sessions` (sessions opened earlier, e.g. for a WebSocket handshake) is still
   * live, in the same order, **without** counting as activity (the idle clock is not renewed): not
   * ended, not idled out, not past its absolute end, as far as this store can see (see each store).
   * One batched look-up for all of them.
   * @throws {ApiError} `session_store_unavailable` when the store cannot answer: unknown, not ended.
   */
  liveSessions(sessions: readonly Session[]): Promise<readonly boolean[]>;
  /**
   * Calls `listener` after this instance has ended sessions (`end`, `endMatching`, `endById`,
   * `endOthers`); returns the unsubscribe. Listeners run synchronously and must not throw; sessions
   * ended by other instances are only seen by {@link liveSessions}.
   */
  onSessionsEnded(listener: (ended: SessionsEnded) => void): () => void;
  /** Why the store cannot serve now, or `undefined` when it can (for `/readyz`). */
  unavailableReason(): Promise<string | undefined>;
  /** The refresh coordinator that goes with this store (one refresh per session at a time). */
  readonly refresher: RefreshCoordinator;
  close(): Promise<void>;
}

/**
 * The listeners of {@link SessionStore.onSessionsEnded}, for the stores: a set of callbacks, each
 * called in a try block (a listener's bug must never fail the logout that ended the session).
 */
export function createEndNotifier(): {
  readonly subscribe: (listener: (ended: SessionsEnded) => void) => () => void;
  readonly notify: (sids: readonly string[] | undefined) => void;
} {
  const listeners = new Set<(ended: SessionsEnded) => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    notify(sids) {
      if (listeners.size === 0 || sids?.length === 0) return;
      const ended: SessionsEnded = { sids };
      for (const listener of listeners) {
        try {
          listener(ended);
        } catch {
          // Documented as never throwing; ignored rather than failing the store call.
        }
      }
    },
  };
}
