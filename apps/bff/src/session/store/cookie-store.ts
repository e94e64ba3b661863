import { BoundedMap } from '../../bounded-map.ts';
import { ApiError } from '../../errors.ts';
import type { CookieToSet } from '../../http/cookie-header.ts';
import { newSessionId, type Session } from '../model/session.ts';
import type { SessionCodec } from '../model/session-codec.ts';
import type { RefreshCoordinator } from '../refresh/refresh.ts';
import {
  CookieBudgetError,
  type CookieNames,
  chunkNamesPresent,
  deletion,
  readChunkedCookie,
  writeChunkedCookie,
} from './cookies.ts';
import { BoundedExpiringSet, digestOf, ExpiringDigestSet } from './expiring-set.ts';
import {
  createEndNotifier,
  type EndedSessions,
  type OpenedSession,
  type SessionMatch,
  type SessionStore,
} from './store.ts';

/**
 * Opened sessions kept in memory, with the sealed cookie each was opened from (a few KB each, so
 * this bounds the cache to a few MB).
 */
const DEFAULT_CACHE_ENTRIES = 1_000;
/**
 * The cache's key: the sealed value's last characters, its JWE authentication tag (22
 * characters, random to whoever lacks the key). A key of the whole value made V8 hash the whole
 * ~1.2 KB cookie on every `/api` call; a hit still compares the whole value, which costs a
 * memory comparison, so two values with one tag are two different sessions.
 */
const cacheKeyOf = (sealed: string) => sealed.slice(-22);

interface CachedSession {
  readonly sealed: string;
  readonly session: Session;
}
/** Ended sessions, IdP sessions and users remembered by this instance, each kind at most. */
const DEFAULT_ENDED_ENTRIES = 100_000;
/** The idle clock in the cookie is renewed at most this often (a `Set-Cookie` on a busy session). */
const MAX_IDLE_RENEWAL_S = 300;

export interface CookieStoreOptions {
  readonly codec: SessionCodec;
  readonly names: CookieNames;
  readonly idleTimeoutS: number;
  /** The absolute lifetime: how long an ended session must be remembered. */
  readonly maxAgeS: number;
  readonly refresher: RefreshCoordinator;
  readonly cacheEntries?: number;
  readonly endedEntries?: number;
  /** Epoch seconds. */
  readonly nowS?: () => number;
}

/**
 * The default store: the whole session, sealed, in the browser's cookie (split in chunks when
 * long). Any instance with the same `SESSION_SECRET` opens it.
 *
 * A cookie cannot be revoked. An ended session (logout, back- or front-channel logout) is refused
 * by the instance that ended it until the cookie would have expired, in bounded memory; other
 * instances learn of it only when the IdP refuses its refresh token. Use the Redis store for
 * logout that holds everywhere at once.
 */
export function createCookieStore(
  options: CookieStoreOptions,
): SessionStore & { readonly cacheSize: () => number } {
  const { codec, names, idleTimeoutS, maxAgeS, refresher } = options;
  const nowS = options.nowS ?? (() => Date.now() / 1000);
  const cacheEntries = options.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
  const endedEntries = options.endedEntries ?? DEFAULT_ENDED_ENTRIES;
  const renewAfterS = Math.min(MAX_IDLE_RENEWAL_S, Math.floor(idleTimeoutS / 12));
  const cache = new BoundedMap<string, CachedSession>(cacheEntries);
  /** Session ids ended here. */
  const endedSessions = new BoundedExpiringSet(endedEntries, nowS);
  /**
   * IdP session ids ended by a logout channel, as fixed-size digests: the front channel takes
   * them from anyone (the issuer is public). Two places, so that a flood of forged ones can never
   * stop a real logout of a session this instance serves:
   * - the IdP sessions of sessions this instance has opened or created (authenticated input
   *   only), and those of them that were ended, where only a real session's id can get;
   * - every other ended IdP session, never pushed out early; when full, a new one is refused
   *   (503), which can only hit sessions this instance has not served.
   */
  const servedIdpSessions = new BoundedMap<string, true>(endedEntries);
  const endedServedIdpSessions = new BoundedExpiringSet(endedEntries, nowS);
  const endedIdpSessions = new ExpiringDigestSet(endedEntries, nowS);
  /** Each session's IdP-session digest, computed once per session object (the cache keeps them). */
  const idpDigests = new WeakMap<Session, string>();
  const idpDigestOf = (session: Session): string | undefined => {
    if (session.idpSid === undefined) return undefined;
    let digest = idpDigests.get(session);
    if (digest === undefined) {
      digest = digestOf(session.idpSid);
      idpDigests.set(session, digest);
    }
    return digest;
  };
  const serve = (session: Session) => {
    const digest = idpDigestOf(session);
    if (digest !== undefined) servedIdpSessions.set(digest, true);
  };
  /** Users whose sessions begun before the recorded time were ended. */
  const endedUsers = new BoundedMap<string, { before: number; until: number }>(endedEntries);
  /** Logout tokens' `jti`s seen. */
  const claimed = new BoundedExpiringSet(endedEntries, nowS);
  const attributes = (maxAge: number) =>
    ({ maxAgeS: maxAge, sameSite: 'Lax', secure: names.secure }) as const;
  /**
   * The latest idle-clock renewal this instance wrote per session id (epoch seconds): a session
   * opened earlier (a WebSocket's handshake) carries the `lastSeenAt` of its cookie then, while
   * the SPA's later requests renewed the cookie. Written only on a renewal (at most every few
   * minutes per session), bounded like the cache; one pushed out falls back to the session's own.
   */
  const renewedAt = new BoundedMap<string, number>(cacheEntries);
  const ends = createEndNotifier();

  const clear = (cookies: Readonly<Record<string, string>>): CookieToSet[] =>
    chunkNamesPresent(cookies, names.session).map((name) => deletion(name, attributes(0)));

  const write = async (session: Session, cookies: Readonly<Record<string, string>>) => {
    const sealed = await codec.sealSession(session);
    const maxAge = Math.max(0, Math.floor(session.expiresAt - nowS()));
    return writeChunkedCookie(
      names.session,
      sealed,
      attributes(maxAge),
      chunkNamesPresent(cookies, names.session),
    );
  };

  const remember = (sealed: string, session: Session) => {
    cache.set(cacheKeyOf(sealed), { sealed, session });
  };
  const cached = (sealed: string): Session | undefined => {
    const entry = cache.get(cacheKeyOf(sealed));
    return entry?.sealed === sealed ? entry.session : undefined;
  };

  const isEnded = (session: Session): boolean => {
    if (endedSessions.has(session.sid)) return true;
    if (endedServedIdpSessions.size > 0 || endedIdpSessions.size > 0) {
      const digest = idpDigestOf(session);
      if (digest !== undefined && (endedServedIdpSessions.has(digest) || endedIdpSessions.hasDigest(digest)))
        return true;
    }
    const user = endedUsers.get(session.user.sub);
    // Same second counts as before: a session cannot be told apart from one begun just before the logout.
    return user !== undefined && user.until > nowS() && session.createdAt <= user.before;
  };

  return {
    async read(cookies): Promise<OpenedSession | undefined> {
      const sealed = readChunkedCookie(cookies, names.session);
      if (!sealed) return undefined;
      let session = cached(sealed);
      if (!session) {
        session = await codec.unsealSession(sealed);
        if (!session) return undefined;
        remember(sealed, session);
        serve(session);
      }
      const t = nowS();
      const idle = t - session.lastSeenAt;
      if (session.expiresAt <= t || idle >= idleTimeoutS || isEnded(session)) {
        cache.delete(cacheKeyOf(sealed));
        return undefined;
      }
      if (idle < renewAfterS) return { session, cookies: [] };
      const renewed = { ...session, lastSeenAt: Math.floor(t) };
      try {
        const renewal = await write(renewed, cookies);
        // The old cookie now stands for the renewed session in this instance: requests still
        // carrying it (in flight, or from a client that ignores Set-Cookie) neither re-seal it
        // on every call (CPU) nor let it idle out while it is in use.
        remember(sealed, renewed);
        renewedAt.set(session.sid, renewed.lastSeenAt);
        return { session: renewed, cookies: renewal };
      } catch (error) {
        // A session at the very edge of the cookie budget: keep it as it is (its idle clock is
        // not renewed this time) rather than fail the request.
        if (error instanceof CookieBudgetError) return { session, cookies: [] };
        throw error;
      }
    },

    async create(fields, cookies) {
      const session = { ...fields, sid: newSessionId() };
      serve(session);
      return { session, cookies: await write(session, cookies) };
    },

    write,

    async end(session, cookies) {
      if (session) {
        endedSessions.add(session.sid, session.expiresAt);
        ends.notify([session.sid]);
      }
      return clear(cookies);
    },

    clear,

    async endMatching({ idpSid, sub, beforeS }: SessionMatch): Promise<EndedSessions> {
      // The sessions themselves are in browsers' cookies: this instance can only refuse them, and
      // has no refresh tokens to revoke.
      const until = beforeS + maxAgeS;
      if (idpSid !== undefined) {
        const digest = digestOf(idpSid);
        if (servedIdpSessions.has(digest)) endedServedIdpSessions.add(digest, until);
        else if (!endedIdpSessions.addDigest(digest, until)) {
          throw new ApiError(
            'service_unavailable',
            'This instance remembers as many ended sessions as it can right now; try again later.',
          );
        }
      } else if (sub !== undefined) {
        endedUsers.set(sub, { before: beforeS, until });
      }
      for (const [key, entry] of cache.entries()) if (isEnded(entry.session)) cache.delete(key);
      // Which sessions matched is known only by looking at them: listeners check theirs.
      ends.notify(undefined);
      return { count: 0, refreshTokens: [] };
    },

    /**
     * As far as this instance can see: not ended here, not past its absolute end, and not idle
     * since the later of its `lastSeenAt` and the last renewal this instance wrote for it. Requests
     * served by other instances renew cookies this one never sees (use Redis for sockets behind a
     * load balancer without affinity). In memory: never throws.
     */
    async liveSessions(sessions) {
      const t = nowS();
      return sessions.map((session) => {
        const lastSeen = Math.max(session.lastSeenAt, renewedAt.get(session.sid) ?? 0);
        return session.expiresAt > t && t - lastSeen < idleTimeoutS && !isEnded(session);
      });
    },

    onSessionsEnded: ends.subscribe,

    // A user's sessions are in their browsers' cookies: no instance can list or reach them.
    listOfUser: notSupported,
    endById: notSupported,
    endOthers: notSupported,

    async claimOnce(id, untilS) {
      if (claimed.has(id)) return false;
      claimed.add(id, untilS);
      return true;
    },

    unclaim: async (id) => claimed.delete(id),

    unavailableReason: async () => undefined,
    refresher,
    close: async () => {},
    cacheSize: () => cache.size,
  };
}

/**
 * The answer of the user's session list and its endings: the cookie store keeps no list of a
 * user's sessions (each is in a browser), and ending one elsewhere would hold only on this instance.
 */
async function notSupported(): Promise<never> {
  throw new ApiError(
    'not_supported',
    'Listing and ending sessions needs the server-side session store (SESSION_STORE=redis).',
  );
}
