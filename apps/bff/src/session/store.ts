import type { CookieToSet } from '../http/cookie-header.ts';
import type { Session } from './session.ts';

/**
 * Where sessions live: sealed in the browser's cookie (the default), or in a server-side store
 * with only a handle in the cookie. Routes, the proxy and the actions use only this interface, so
 * they never know which one is in use.
 *
 * Every method takes the request's cookies (name → value) and, where the browser must change its
 * cookies, returns them as {@link CookieToSet}s for the caller to send.
 */
export interface SessionStore {
  /** The request's session, or `undefined` (no cookie, or one that does not open, has expired or was ended). */
  read(cookies: Readonly<Record<string, string>>): Promise<Session | undefined>;
  /**
   * Stores `session` (new at login, or refreshed) and returns the cookies that carry it.
   * @throws {CookieBudgetError} when it does not fit the browser's cookies.
   */
  write(session: Session, cookies: Readonly<Record<string, string>>): Promise<CookieToSet[]>;
  /** Ends `session` (if any) so it opens nowhere again, and returns the deletions of its cookies. */
  end(session: Session | undefined, cookies: Readonly<Record<string, string>>): Promise<CookieToSet[]>;
  /** Deletions for every session cookie the browser sent (a cookie that did not open). */
  clear(cookies: Readonly<Record<string, string>>): CookieToSet[];
}
