import { randomBytes } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import type { CookieToSet } from '../../http/cookie-header.ts';
import { describeDevice } from '../../http/user-agent.ts';
import { type Metrics, NO_METRICS } from '../../ops/metrics.ts';
import { TRACING_OFF, type Tracing } from '../../ops/tracing.ts';
import type { Session } from '../model/session.ts';
import type { SessionCodec } from '../model/session-codec.ts';
import type { RefreshFunction, RevokeFunction } from '../refresh/refresh.ts';
import { type CookieNames, chunkNamesPresent, deletion } from '../store/cookies.ts';
import {
  createEndNotifier,
  type EndedSessions,
  type OpenedSession,
  type SessionMatch,
  type SessionStore,
} from '../store/store.ts';
import { type RedisPort, redisKeys } from './redis-client.ts';
import { createRedisGuard } from './redis-guard.ts';
import { createRedisRefresh } from './redis-refresh.ts';
import { deriveRedisStoreKeys } from './redis-store-keys.ts';
import { createRedisRecords } from './redis-store-records.ts';
import { createRedisUserSessions } from './redis-user-sessions.ts';

/** The handle in the cookie: 256 random bits. */
const HANDLE_BYTES = 32;

export interface RedisStoreOptions {
  readonly redis: RedisPort;
  /** Seals the record's value: a dump of Redis gives no token. */
  readonly codec: SessionCodec;
  readonly names: CookieNames;
  /**
   * `SESSION_SECRET`'s entries: every key name (record, indexes, claims) is a keyed hash under
   * each of them: the first names new entries, all of them find entries named before a rotation.
   */
  readonly secrets: readonly string[];
  readonly idleTimeoutS: number;
  readonly refresh: RefreshFunction;
  /**
   * Revokes a refresh token that a refresh obtained for a session ended meanwhile on another
   * instance (see `redis-refresh.ts`). Without it, such a token is left to expire at the IdP.
   */
  readonly revoke?: RevokeFunction;
  /** The refresh lock's lifetime: see `redis-refresh.ts`. */
  readonly lockTtlMs: number;
  /** Store latency and errors into metrics, and a client span per operation. */
  readonly ops?: { readonly metrics: Metrics; readonly tracing: Tracing };
  /** Epoch milliseconds. */
  readonly nowMs?: () => number;
}

/**
 * Sessions in Redis (`SESSION_STORE=redis`): the cookie holds only an opaque random handle, the
 * same for the whole session and new at every login. The Redis key is a keyed hash of the handle
 * (a dump of Redis gives no usable cookie) and the value is sealed under a key derived from
 * `SESSION_SECRET` (a dump gives no token) and bound to its key: the key's hash is authenticated
 * data of the seal, so a record copied over another session's key opens as no session there.
 * Keys expire with the session: the earlier of the idle timeout (slid on use, at most once a
 * minute) and the absolute end. Logout and the logout channels delete the record, so every
 * instance refuses the cookie at once.
 *
 * The indexes by user and by IdP session (for the logout channels) and the logout tokens' claims
 * are named with keyed hashes too, so a dump does not tell who is signed in. Index entries of
 * sessions that idled out are removed at the user's next login, and a set expires with the
 * longest absolute end of its members.
 *
 * Redis unreachable or slow: every call throws `ApiError` 503 `session_store_unavailable` at
 * once when disconnected, or after at most two seconds; the client reconnects by itself.
 *
 * @see RFC 7516 §5.1 (the protected header is authenticated data); RFC 5869 (HKDF)
 */
export function createRedisStore(options: RedisStoreOptions): SessionStore {
  const { redis, codec, names, idleTimeoutS } = options;
  const nowMs = options.nowMs ?? Date.now;
  const idleMs = idleTimeoutS * 1000;
  const keys = deriveRedisStoreKeys(options.secrets);
  const records = createRedisRecords({ redis, codec, idleMs, nowMs });
  const guard = createRedisGuard({
    redis,
    metrics: options.ops?.metrics ?? NO_METRICS,
    tracing: options.ops?.tracing ?? TRACING_OFF,
  });
  const revoke = options.revoke ?? (async () => {});
  const attributes = (maxAgeS: number) => ({ maxAgeS, sameSite: 'Lax', secure: names.secure }) as const;

  const clear = (cookies: Readonly<Record<string, string>>): CookieToSet[] =>
    chunkNamesPresent(cookies, names.session).map((name) => deletion(name, attributes(0)));

  /**
   * Removes the members of `index` whose record is gone (idled out, or ended by an instance that
   * did not know the index): a member only joins after its record exists, so a missing record
   * means a session that ended. Without this, a user's set would grow with every idle session.
   */
  const prune = async (index: string): Promise<void> => {
    const members = await redis.indexMembers(index);
    const alive = await Promise.all(members.map((tag) => redis.hasRecord(redisKeys.session(tag))));
    const dead = members.filter((_, i) => !alive[i]);
    await Promise.all(dead.map((tag) => redis.indexRemove(index, tag)));
  };

  /** Ends `session` here: its record (and cached copy) and its entries in every index set it may be in. */
  const remove = async (session: Session) => {
    records.forget(session.sid);
    await redis.del(redisKeys.session(session.sid));
    await Promise.all(keys.allIndexesOf(session).map((index) => redis.indexRemove(index, session.sid)));
  };

  const ends = createEndNotifier();

  const userSessions = createRedisUserSessions({
    redis,
    keys,
    records,
    guard,
    remove,
    notifyEnded: ends.notify,
    nowMs,
  });

  const ttlOf = (session: Session) => Math.min(idleMs, session.expiresAt * 1000 - nowMs());

  const store: SessionStore = {
    read: (cookies, parent) =>
      guard('read', parent, async (): Promise<OpenedSession | undefined> => {
        const handle = cookies[names.session];
        if (!handle || handle.length > 64) return undefined;
        for (const tag of keys.recordTag.all(handle)) {
          const found = await records.load(tag);
          if (found) return { session: found.session, cookies: [] };
        }
        return undefined;
      }),

    async create(fields, cookies, origin, parent) {
      const created = await guard('create', parent, async () => {
        const previous = cookies[names.session];
        if (previous && previous.length <= 64)
          await redis.del(redisKeys.session(keys.recordTag.current(previous)));
        const handle = randomBytes(HANDLE_BYTES).toString('base64url');
        const session: Session = { ...fields, sid: keys.recordTag.current(handle) };
        const ttl = ttlOf(session);
        await redis.createSession(
          redisKeys.session(session.sid),
          await records.seal(session.sid, session),
          session.expiresAt * 1000,
          ttl,
          // Only the coarse description is kept, never the header.
          { lastSeenMs: nowMs(), device: describeDevice(origin?.userAgent) },
        );
        // The set lives as long as its longest-living member can (its absolute end), no longer.
        const indexTtl = session.expiresAt * 1000 - nowMs();
        try {
          for (const index of keys.indexesOf(session)) await redis.indexAdd(index, session.sid, indexTtl);
        } catch (error) {
          // A session the logout channels could not find must not exist.
          await redis.del(redisKeys.session(session.sid)).catch(() => {
            // Redis just failed; the record expires with its TTL if this fails too.
          });
          throw error;
        }
        const maxAgeS = Math.max(0, Math.floor(session.expiresAt - nowMs() / 1000));
        return {
          session,
          cookies: [{ name: names.session, value: handle, ...attributes(maxAgeS) }, ...staleChunks(cookies)],
        };
      });
      await guard('prune', parent, () => Promise.all(keys.indexesOf(created.session).map(prune))).catch(
        () => {
          // Housekeeping only: the session is stored and indexed; the next login prunes again.
        },
      );
      return created;
    },

    write: (session, _cookies, parent) =>
      guard('write', parent, async () => {
        // The coordinator stores refreshed sessions itself; this is for anything else: a
        // compare-and-set on the version just read, so a concurrent change (a refresh) wins over
        // this one. The cookie (the handle) never changes.
        const current = await redis.getData(redisKeys.session(session.sid));
        if (current)
          await redis.swapSession(
            redisKeys.session(session.sid),
            current.version,
            await records.seal(session.sid, session),
          );
        return [];
      }),

    end: async (session, cookies, parent) => {
      if (session) {
        await guard('end', parent, () => remove(session));
        ends.notify([session.sid]);
      }
      return clear(cookies);
    },

    clear,

    async endMatching({ idpSid, sub }: SessionMatch, parent?: Context): Promise<EndedSessions> {
      // Every secret's index: sessions begun before a rotation are listed under the older one.
      const indexes =
        idpSid !== undefined ? keys.byIdpSession.all(idpSid) : sub !== undefined ? keys.byUser.all(sub) : [];
      const refreshTokens: string[] = [];
      const endedSids: string[] = [];
      let count = 0;
      // One bounded call per step, not one bound for the whole loop: a user with many sessions
      // must not turn into a 503 that leaves them all alive.
      try {
        for (const index of indexes) {
          for (const tag of await guard('end_matching', parent, () => redis.indexMembers(index))) {
            const record = await guard('end_matching', parent, () => redis.getData(redisKeys.session(tag)));
            const session = record && (await records.open(tag, record.data));
            if (session) {
              await guard('end_matching', parent, () => remove(session));
              if (session.refreshToken) refreshTokens.push(session.refreshToken);
              endedSids.push(session.sid);
              count++;
            } else {
              await guard('end_matching', parent, () => redis.indexRemove(index, tag));
            }
          }
        }
      } finally {
        // Those removed so far, also when a later step failed (their sockets close now).
        ends.notify(endedSids);
      }
      return { count, refreshTokens };
    },

    /**
     * The record still exists and opens: the idle clock is the key's TTL, so a record that idled
     * out is gone, and this look does not slide it (an open socket is not activity; the SPA's
     * requests are). One pipelined version read for all; a record whose version is the one cached
     * is the record opened before, any other is opened again (it must still be this session's).
     */
    liveSessions: (sessions) =>
      // The WebSockets' session check, which serves no request: a root span.
      guard('live', undefined, async () => {
        const versions = await redis.recordVersions(sessions.map((s) => redisKeys.session(s.sid)));
        return Promise.all(
          sessions.map(async (session, i) => {
            const version = versions[i];
            if (version === undefined) return false;
            if (records.cached(session.sid)?.version === version) return true;
            const record = await redis.getData(redisKeys.session(session.sid));
            const opened = record && (await records.openAndCache(session.sid, record));
            return opened !== undefined;
          }),
        );
      }),

    onSessionsEnded: ends.subscribe,

    // The user's list of their sessions: `redis-user-sessions.ts`.
    listOfUser: userSessions.listOfUser,
    endById: userSessions.endById,
    endOthers: userSessions.endOthers,

    unclaim: (id, parent) =>
      guard('claim', parent, async () => {
        await Promise.all(keys.claims.all(id).map((key) => redis.del(key)));
      }),

    claimOnce: (id, untilS, parent) =>
      guard('claim', parent, async () => {
        // Claimed under every secret's name, so that an instance whose current secret differs
        // (in the middle of a rotation) still sees the claim: any one already there is a replay.
        const ttlMs = Math.max(1000, untilS * 1000 - nowMs());
        const fresh = await Promise.all(keys.claims.all(id).map((key) => redis.setIfAbsent(key, '1', ttlMs)));
        return fresh.every(Boolean);
      }),

    async unavailableReason() {
      if (!redis.isReady()) return 'Redis is not connected';
      try {
        await redis.ping();
        return undefined;
      } catch (error) {
        return `Redis did not answer (${error instanceof Error ? error.name : 'error'})`;
      }
    },

    refresher: createRedisRefresh({
      redis,
      sealRecord: records.seal,
      refresh: options.refresh,
      revoke,
      lockTtlMs: options.lockTtlMs,
      guard,
      load: records.load,
      nowMs,
    }),
    close: () => redis.close(),
  };
  return store;

  function staleChunks(cookies: Readonly<Record<string, string>>): CookieToSet[] {
    // Chunks of a cookie-store session from before a switch to Redis.
    return chunkNamesPresent(cookies, names.session)
      .filter((name) => name !== names.session)
      .map((name) => deletion(name, attributes(0)));
  }
}
