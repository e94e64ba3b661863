import { randomBytes } from 'node:crypto';
import type { Attributes, Context } from '@opentelemetry/api';
import { BoundedMap } from '../../bounded-map.ts';
import { ApiError } from '../../errors.ts';
import type { CookieToSet } from '../../http/cookie-header.ts';
import { describeDevice, deviceDescriptionOr } from '../../http/user-agent.ts';
import { type Metrics, NO_METRICS, type StoreOutcome } from '../../ops/metrics.ts';
import { inClientSpan, TRACING_OFF, type Tracing } from '../../ops/tracing.ts';
import { deriveKeyedHashes, type KeyedHash } from '../../sealing/keys.ts';
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
  type UserSessionSummary,
} from '../store/store.ts';
import { isRecordVersion, REDIS_COMMAND_TIMEOUT_MS, type RedisPort, redisKeys } from './redis-client.ts';
import { createRedisRefresh } from './redis-refresh.ts';

/** The handle in the cookie: 256 random bits. */
const HANDLE_BYTES = 32;
/** The idle TTL in Redis is pushed forward at most this often per session (one `PEXPIRE`). */
const MAX_IDLE_SLIDE_MS = 60_000;
/** One store operation (a few Redis round trips) may take this long before the request answers 503. */
const GUARD_TIMEOUT_MS = 2 * REDIS_COMMAND_TIMEOUT_MS;
/** What a session's id in its user's list can look like (a keyed hash's base64url). */
const PUBLIC_ID = /^[\w-]{1,64}$/;
/** Opened records kept in memory by version, so an unchanged record is not unsealed again. */
const CACHE_ENTRIES = 1_000;

/**
 * Each operation's span name and attributes, made once rather than on every store call of every
 * request (the operations are the handful of names written in this file and `redis-refresh.ts`).
 */
const SPANS = new Map<string, { readonly name: string; readonly attributes: Attributes }>();
const spanOf = (operation: string) => {
  let span = SPANS.get(operation);
  if (!span) {
    span = {
      name: `redis ${operation}`,
      attributes: Object.freeze({ 'db.system.name': 'redis', 'db.operation.name': operation }),
    };
    SPANS.set(operation, span);
  }
  return span;
};

/**
 * HKDF salt and info of each keyed hash that names Redis keys, one pair per purpose. The record's
 * pair is the one records were always named with: changing it would orphan every live session.
 */
const KEY_HASHES = {
  /** Handle → record key: a dump of Redis gives no usable cookie. */
  record: { salt: 'bff_session_handle', info: 'okta-bff redis key hash' },
  /** `sub` → the user's index: a dump does not tell who is signed in. */
  user: { salt: 'bff_session_index', info: 'okta-bff redis index hash: user' },
  /** The IdP's `sid` → that IdP session's index. */
  idpSession: { salt: 'bff_session_index', info: 'okta-bff redis index hash: idp session' },
  /** A logout token's `jti` → its claim. */
  claim: { salt: 'bff_session_index', info: 'okta-bff redis claim hash' },
  /**
   * A record's tag → the session's id in its user's list (`GET /auth/sessions`): neither the
   * handle nor the record's key, and no way back to either.
   */
  publicId: { salt: 'bff_session_public_id', info: 'okta-bff session id shown to its user' },
} as const;

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
 * Redis unreachable or slow: every call throws `BffError` 503 `session_store_unavailable` at
 * once when disconnected, or after at most two seconds; the client reconnects by itself.
 *
 * @see RFC 7516 §5.1 (the protected header is authenticated data); RFC 5869 (HKDF)
 */
export function createRedisStore(options: RedisStoreOptions): SessionStore {
  const { redis, codec, names, idleTimeoutS } = options;
  const nowMs = options.nowMs ?? Date.now;
  const idleMs = idleTimeoutS * 1000;
  const slideMs = Math.min(MAX_IDLE_SLIDE_MS, Math.floor(idleMs / 10));
  const hashes = (purpose: keyof typeof KEY_HASHES) =>
    deriveKeyedHashes(options.secrets, KEY_HASHES[purpose].salt, KEY_HASHES[purpose].info);
  const recordHashes = hashes('record');
  const primary = recordHashes[0] as KeyedHash;
  const byUser = keyNames(hashes('user'), redisKeys.byUser);
  const byIdpSession = keyNames(hashes('idpSession'), redisKeys.byIdpSession);
  const claims = keyNames(hashes('claim'), redisKeys.claim);
  const publicIds = hashes('publicId');
  /** The session's id in its user's list, under the current secret. */
  const publicIdOf = (tag: string) => (publicIds[0] as KeyedHash)(tag);
  /** Whether `id` names the record `tag` (under any secret: a list shown before a rotation still works). */
  const isPublicIdOf = (id: string, tag: string) => publicIds.some((hash) => hash(tag) === id);
  const revoke = options.revoke ?? (async () => {});
  const cache = new BoundedMap<string, { version: string; session: Session }>(CACHE_ENTRIES);
  /** Recent handles' record tags (one per secret): an HMAC per request was a tenth of the store's cost. */
  const tags = new BoundedMap<string, readonly string[]>(CACHE_ENTRIES);
  const tagsOf = (handle: string): readonly string[] => {
    let known = tags.get(handle);
    if (!known) {
      known = recordHashes.map((hash) => hash(handle));
      tags.set(handle, known);
    }
    return known;
  };
  const attributes = (maxAgeS: number) => ({ maxAgeS, sameSite: 'Lax', secure: names.secure }) as const;

  /** Seals `session` for the record `tag` only: the tag is authenticated data of the seal. */
  const sealRecord = (tag: string, session: Session) => codec.sealSession(session, tag);
  /** Opens a record's value found under `tag`; one sealed for another record opens as nothing. */
  const openRecord = (tag: string, data: string) => codec.unsealSession(data, tag);

  const metrics = options.ops?.metrics ?? NO_METRICS;
  const tracing = options.ops?.tracing ?? TRACING_OFF;

  /**
   * Runs store work against Redis: fails fast when disconnected, never waits longer than the
   * bound, and reports its latency and outcome (with tracing on, a span under `parent`, the trace
   * context of the request it serves).
   */
  const guard = async <T>(
    operation: string,
    parent: Context | undefined,
    call: () => Promise<T>,
  ): Promise<T> => {
    const start = performance.now();
    let outcome: StoreOutcome = 'error';
    try {
      const span = spanOf(operation);
      const result = await inClientSpan(tracing, parent, span.name, span.attributes, () => bounded(call));
      outcome = 'ok';
      return result;
    } finally {
      metrics.observeStore(operation, outcome, (performance.now() - start) / 1000);
    }
  };

  const bounded = async <T>(call: () => Promise<T>): Promise<T> => {
    if (!redis.isReady()) {
      await redis.firstReady(GUARD_TIMEOUT_MS);
      if (!redis.isReady()) throw storeUnavailable(new Error('not connected'));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(storeUnavailable(new Error('Redis did not answer in time'))),
        GUARD_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw storeUnavailable(error);
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * Opens the record `tag`, using the cached copy when its version is current. Versions are random
   * and new at every write, so a record put under the key by anyone else (another session's copied
   * there, one restored after a logout) does not carry the cached version: it is opened, and the
   * binding refuses it. Only a writer who read this very record could copy its version too, and
   * this record, put back whole, would open anyway.
   */
  const load = async (tag: string): Promise<{ version: string; session: Session } | undefined> => {
    const cached = cache.get(tag);
    const reply = await redis.readSession(
      redisKeys.session(tag),
      cached?.version ?? '',
      nowMs(),
      idleMs,
      slideMs,
    );
    if (!reply) {
      cache.delete(tag);
      return undefined;
    }
    const [version, data] = reply;
    if (data === undefined && cached) return cached;
    const session = data === undefined ? undefined : await openRecord(tag, data);
    if (!session) {
      cache.delete(tag);
      return undefined;
    }
    const entry = { version, session };
    // A record from before versions were random shares its version with many others: not cached.
    if (isRecordVersion(version)) cache.set(tag, entry);
    else cache.delete(tag);
    return entry;
  };

  const clear = (cookies: Readonly<Record<string, string>>): CookieToSet[] =>
    chunkNamesPresent(cookies, names.session).map((name) => deletion(name, attributes(0)));

  /** The index sets a new session joins: its user's and its IdP session's, under the current secret. */
  const indexesOf = (session: Session): string[] => [
    byUser.current(session.user.sub),
    ...(session.idpSid === undefined ? [] : [byIdpSession.current(session.idpSid)]),
  ];

  /** Every index set `session` may be in: it joined them under whichever secret was current then. */
  const allIndexesOf = (session: Session): string[] => [
    ...byUser.all(session.user.sub),
    ...(session.idpSid === undefined ? [] : byIdpSession.all(session.idpSid)),
  ];

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

  const remove = async (session: Session) => {
    cache.delete(session.sid);
    await redis.del(redisKeys.session(session.sid));
    await Promise.all(allIndexesOf(session).map((index) => redis.indexRemove(index, session.sid)));
  };

  const ends = createEndNotifier();

  /**
   * The live sessions of `session`'s user: every record its user's index sets list (under every
   * secret), looked at without sliding their TTLs, that still exists, opens, is this user's and
   * has not reached its absolute end; `session` itself is always looked at. Members whose record
   * is gone (idled out, ended by an instance that did not know the index) leave the sets here.
   */
  const sessionsOfUser = async (session: Session): Promise<UserRecord[]> => {
    const indexes = byUser.all(session.user.sub);
    const listed = await Promise.all(indexes.map((index) => redis.indexMembers(index)));
    const indexesOfTag = new Map<string, string[]>([[session.sid, []]]);
    listed.forEach((members, i) => {
      for (const tag of members)
        indexesOfTag.set(tag, [...(indexesOfTag.get(tag) ?? []), indexes[i] as string]);
    });
    const tags = [...indexesOfTag.keys()];
    const looks = await redis.lookRecords(
      tags.map((tag) => ({ key: redisKeys.session(tag), knownVersion: cache.get(tag)?.version ?? '' })),
    );
    const gone: Promise<void>[] = [];
    const found = await Promise.all(
      tags.map(async (tag, i): Promise<UserRecord | undefined> => {
        const look = looks[i];
        if (!look) {
          for (const index of indexesOfTag.get(tag) ?? []) gone.push(redis.indexRemove(index, tag));
          return undefined;
        }
        const cached = cache.get(tag);
        let opened: Session | undefined;
        let record = look.data === undefined ? undefined : { version: look.version, data: look.data };
        if (!record && cached?.version === look.version) opened = cached.session;
        // The cached copy was pushed out between the look and now: read the data after all.
        else if (!record) record = await redis.getData(redisKeys.session(tag));
        if (record) {
          opened = await openRecord(tag, record.data);
          if (opened && isRecordVersion(record.version))
            cache.set(tag, { version: record.version, session: opened });
        }
        if (!opened || opened.user.sub !== session.user.sub || opened.expiresAt * 1000 <= nowMs())
          return undefined;
        return { tag, session: opened, lastSeenMs: look.lastSeenMs, device: look.device };
      }),
    );
    await Promise.all(gone);
    return found.filter((record): record is UserRecord => record !== undefined);
  };

  /** How `record` shows in its user's list; `current` when it is the session asking. */
  const summaryOf = (record: UserRecord, current: Session): UserSessionSummary => {
    const { createdAt } = record.session;
    const nowS = Math.floor(nowMs() / 1000);
    const seenS =
      record.lastSeenMs === undefined ? record.session.lastSeenAt : Math.floor(record.lastSeenMs / 1000);
    return {
      id: publicIdOf(record.tag),
      createdAt,
      lastSeenAt: Math.min(nowS, Math.max(createdAt, seenS)),
      device: deviceDescriptionOr(record.device),
      current: record.tag === current.sid,
    };
  };

  const ttlOf = (session: Session) => Math.min(idleMs, session.expiresAt * 1000 - nowMs());

  const store: SessionStore = {
    read: (cookies, parent) =>
      guard('read', parent, async (): Promise<OpenedSession | undefined> => {
        const handle = cookies[names.session];
        if (!handle || handle.length > 64) return undefined;
        for (const tag of tagsOf(handle)) {
          const found = await load(tag);
          if (found) return { session: found.session, cookies: [] };
        }
        return undefined;
      }),

    async create(fields, cookies, origin, parent) {
      const created = await guard('create', parent, async () => {
        const previous = cookies[names.session];
        if (previous && previous.length <= 64) await redis.del(redisKeys.session(primary(previous)));
        const handle = randomBytes(HANDLE_BYTES).toString('base64url');
        const session: Session = { ...fields, sid: primary(handle) };
        const ttl = ttlOf(session);
        await redis.createSession(
          redisKeys.session(session.sid),
          await sealRecord(session.sid, session),
          session.expiresAt * 1000,
          ttl,
          // Only the coarse description is kept, never the header.
          { lastSeenMs: nowMs(), device: describeDevice(origin?.userAgent) },
        );
        // The set lives as long as its longest-living member can (its absolute end), no longer.
        const indexTtl = session.expiresAt * 1000 - nowMs();
        try {
          for (const index of indexesOf(session)) await redis.indexAdd(index, session.sid, indexTtl);
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
      await guard('prune', parent, () => Promise.all(indexesOf(created.session).map(prune))).catch(() => {
        // Housekeeping only: the session is stored and indexed; the next login prunes again.
      });
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
            await sealRecord(session.sid, session),
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
        idpSid !== undefined ? byIdpSession.all(idpSid) : sub !== undefined ? byUser.all(sub) : [];
      const refreshTokens: string[] = [];
      const endedSids: string[] = [];
      let count = 0;
      // One bounded call per step, not one bound for the whole loop: a user with many sessions
      // must not turn into a 503 that leaves them all alive.
      try {
        for (const index of indexes) {
          for (const tag of await guard('end_matching', parent, () => redis.indexMembers(index))) {
            const record = await guard('end_matching', parent, () => redis.getData(redisKeys.session(tag)));
            const session = record && (await openRecord(tag, record.data));
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
            if (cache.get(session.sid)?.version === version) return true;
            const record = await redis.getData(redisKeys.session(session.sid));
            const opened = record && (await openRecord(session.sid, record.data));
            if (!record || !opened) return false;
            if (isRecordVersion(record.version))
              cache.set(session.sid, { version: record.version, session: opened });
            return true;
          }),
        );
      }),

    onSessionsEnded: ends.subscribe,

    listOfUser: (session, parent) =>
      guard('list', parent, async () => {
        const summaries = (await sessionsOfUser(session)).map((record) => summaryOf(record, session));
        // This browser's first, then the most recently used.
        return summaries.sort(
          (a, b) =>
            Number(b.current) - Number(a.current) || b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt,
        );
      }),

    async endById(session, id, parent) {
      // Ids are 32 characters of base64url: anything else names none of this user's sessions.
      if (!PUBLIC_ID.test(id)) return undefined;
      const record = await guard('end_by_id', parent, async () =>
        (await sessionsOfUser(session)).find((candidate) => isPublicIdOf(id, candidate.tag)),
      );
      if (!record) return undefined;
      await guard('end_by_id', parent, () => remove(record.session));
      ends.notify([record.session.sid]);
      return record.session;
    },

    async endOthers(session, parent) {
      const others = (await guard('end_others', parent, () => sessionsOfUser(session))).filter(
        (record) => record.tag !== session.sid,
      );
      const ended: Session[] = [];
      // One bounded call per session, as in `endMatching`: many sessions must not turn into a 503
      // that leaves them all alive.
      try {
        for (const record of others) {
          await guard('end_others', parent, () => remove(record.session));
          ended.push(record.session);
        }
      } finally {
        ends.notify(ended.map((s) => s.sid));
      }
      return ended;
    },

    unclaim: (id, parent) =>
      guard('claim', parent, async () => {
        await Promise.all(claims.all(id).map((key) => redis.del(key)));
      }),

    claimOnce: (id, untilS, parent) =>
      guard('claim', parent, async () => {
        // Claimed under every secret's name, so that an instance whose current secret differs
        // (in the middle of a rotation) still sees the claim: any one already there is a replay.
        const ttlMs = Math.max(1000, untilS * 1000 - nowMs());
        const fresh = await Promise.all(claims.all(id).map((key) => redis.setIfAbsent(key, '1', ttlMs)));
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
      sealRecord,
      refresh: options.refresh,
      revoke,
      lockTtlMs: options.lockTtlMs,
      guard,
      load,
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

/** A live session of a user, found through their index (see `sessionsOfUser`). */
interface UserRecord {
  /** The record's tag (its key's hash part), also the session's `sid`. */
  readonly tag: string;
  readonly session: Session;
  readonly lastSeenMs: number | undefined;
  readonly device: string | undefined;
}

/**
 * The Redis keys that name a value for one purpose: `current` for new entries (the newest
 * secret), `all` (one per distinct secret) to find entries named before a rotation.
 */
interface KeyNames {
  readonly current: (value: string) => string;
  readonly all: (value: string) => string[];
}

function keyNames(hashes: readonly KeyedHash[], key: (hash: string) => string): KeyNames {
  return {
    current: (value) => key((hashes[0] as KeyedHash)(value)),
    all: (value) => [...new Set(hashes.map((hash) => key(hash(value))))],
  };
}

function storeUnavailable(cause: unknown): ApiError {
  return new ApiError(
    'session_store_unavailable',
    'The session store is not reachable. Try again in a moment.',
    {
      cause,
    },
  );
}
