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
 * Where sessions live: sealed in the browser's cookie (the default), or in Redis with only a
 * handle in the cookie. Routes, the proxy and the actions use only this interface, so they never
 * know which one is in use.
 *
 * Every method that sees a request takes its cookies (name → value) and, where the browser must
 * change its cookies, returns them as {@link CookieToSet}s for the caller to send. A store that
 * cannot answer throws `ApiError` `session_store_unavailable` (503).
 */
export interface SessionStore {
  /** The request's session, or `undefined` (no cookie, or one that does not open, has expired, idled out or was ended). */
  read(cookies: Readonly<Record<string, string>>): Promise<OpenedSession | undefined>;
  /**
   * Stores a new session (at login: a fresh id, and a fresh handle where the store uses one),
   * replacing whatever session the browser's cookies named, and returns it with its cookies.
   * @throws {CookieBudgetError} when it does not fit the browser's cookies.
   */
  create(
    fields: Omit<Session, 'sid'>,
    cookies: Readonly<Record<string, string>>,
  ): Promise<{ session: Session; cookies: CookieToSet[] }>;
  /**
   * Stores a changed session (refreshed, or its idle clock renewed) and returns the cookies that carry it.
   * @throws {CookieBudgetError} when it does not fit the browser's cookies.
   */
  write(session: Session, cookies: Readonly<Record<string, string>>): Promise<CookieToSet[]>;
  /** Ends `session` (if any) so it opens nowhere again, and returns the deletions of its cookies. */
  end(session: Session | undefined, cookies: Readonly<Record<string, string>>): Promise<CookieToSet[]>;
  /** Deletions for every session cookie the browser sent (a cookie that did not open). */
  clear(cookies: Readonly<Record<string, string>>): CookieToSet[];
  /** Ends every session matching `match` wherever this store reaches (see each store for how far). */
  endMatching(match: SessionMatch): Promise<EndedSessions>;
  /**
   * Records `id` (a logout token's `jti`) until `untilS`; false when it was already recorded (a replay).
   */
  claimOnce(id: string, untilS: number): Promise<boolean>;
  /** Forgets a claim, so that a request that failed after claiming can be sent again. */
  unclaim(id: string): Promise<void>;
  /** Why the store cannot serve now, or `undefined` when it can (for `/readyz`). */
  unavailableReason(): Promise<string | undefined>;
  /** The refresh coordinator that goes with this store (one refresh per session at a time). */
  readonly refresher: RefreshCoordinator;
  close(): Promise<void>;
}
