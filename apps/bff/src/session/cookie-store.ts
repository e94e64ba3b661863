import type { CookieToSet } from '../http/cookie-header.ts';
import {
  type CookieNames,
  chunkNamesPresent,
  deletion,
  readChunkedCookie,
  writeChunkedCookie,
} from './cookies.ts';
import type { Session, SessionCodec } from './session.ts';
import type { SessionStore } from './store.ts';

/**
 * Opened sessions kept in memory, keyed by the sealed cookie itself (a few KB each, so this
 * bounds the cache to a few MB). A string key costs V8 one pass over the cookie; a SHA-256 key
 * cost ten times that on every `/api` call.
 */
const DEFAULT_CACHE_ENTRIES = 1_000;
/** Sessions this instance ended, remembered until their cookies would have expired. */
const DEFAULT_ENDED_ENTRIES = 100_000;

export interface CookieStoreOptions {
  readonly codec: SessionCodec;
  readonly names: CookieNames;
  readonly cacheEntries?: number;
  readonly endedEntries?: number;
  /** Epoch seconds. */
  readonly now?: () => number;
}

/**
 * The default store: the whole session, sealed, in the browser's cookie (split in chunks when
 * long). Any instance with the same `SESSION_SECRET` opens it.
 *
 * A cookie cannot be revoked: an ended session is refused by this instance until the cookie would
 * have expired (a bounded set of session ids); other instances learn of it only when the IdP
 * refuses its refresh token. Use the Redis store for logout that holds everywhere.
 */
export function createCookieStore({
  codec,
  names,
  cacheEntries = DEFAULT_CACHE_ENTRIES,
  endedEntries = DEFAULT_ENDED_ENTRIES,
  now = () => Date.now() / 1000,
}: CookieStoreOptions): SessionStore & { readonly cacheSize: () => number } {
  const cache = new Map<string, Session>();
  /** Session id → its absolute end: ended here, refused until then. */
  const ended = new Map<string, number>();
  const attributes = (maxAgeS: number) => ({ maxAgeS, sameSite: 'Lax', secure: names.secure }) as const;

  const clear = (cookies: Readonly<Record<string, string>>): CookieToSet[] =>
    chunkNamesPresent(cookies, names.session).map((name) => deletion(name, attributes(0)));

  const remember = (key: string, session: Session) => {
    if (cache.size >= cacheEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, session);
  };

  const isEnded = (session: Session, t: number): boolean => {
    const until = ended.get(session.sid);
    if (until === undefined) return false;
    if (until > t) return true;
    ended.delete(session.sid);
    return false;
  };

  return {
    async read(cookies) {
      const sealed = readChunkedCookie(cookies, names.session);
      if (!sealed) return undefined;
      let session = cache.get(sealed);
      if (!session) {
        session = await codec.unsealSession(sealed);
        if (!session) return undefined;
        remember(sealed, session);
      }
      const t = now();
      if (session.expiresAt <= t || (ended.size > 0 && isEnded(session, t))) {
        cache.delete(sealed);
        return undefined;
      }
      return session;
    },

    async write(session, cookies) {
      const sealed = await codec.sealSession(session);
      const maxAgeS = Math.max(0, Math.floor(session.expiresAt - now()));
      return writeChunkedCookie(
        names.session,
        sealed,
        attributes(maxAgeS),
        chunkNamesPresent(cookies, names.session),
      );
    },

    async end(session, cookies) {
      if (session) {
        if (ended.size >= endedEntries) {
          // Oldest first: Map keeps insertion order, and the oldest end soonest.
          const oldest = ended.keys().next().value;
          if (oldest !== undefined) ended.delete(oldest);
        }
        ended.set(session.sid, session.expiresAt);
      }
      return clear(cookies);
    },

    clear,
    cacheSize: () => cache.size,
  };
}
