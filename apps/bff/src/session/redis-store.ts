import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { BffError } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import { type Metrics, NO_METRICS, type StoreOutcome } from '../ops/metrics.ts';
import { inClientSpan, TRACING_OFF, type Tracing } from '../ops/tracing.ts';
import { type CookieNames, chunkNamesPresent, deletion } from './cookies.ts';
import { REDIS_COMMAND_TIMEOUT_MS, type RedisPort, redisKeys } from './redis-client.ts';
import { createRedisRefresh } from './redis-refresh.ts';
import type { RefreshFunction } from './refresh.ts';
import type { Session, SessionCodec } from './session.ts';
import type { EndedSessions, OpenedSession, SessionMatch, SessionStore } from './store.ts';

/** The handle in the cookie: 256 random bits. */
const HANDLE_BYTES = 32;
/** The idle TTL in Redis is pushed forward at most this often per session (one `PEXPIRE`). */
const MAX_IDLE_SLIDE_MS = 60_000;
/** One store operation (a few Redis round trips) may take this long before the request answers 503. */
const GUARD_TIMEOUT_MS = 2 * REDIS_COMMAND_TIMEOUT_MS;
/** Opened records kept in memory by version, so an unchanged record is not unsealed again. */
const CACHE_ENTRIES = 1_000;

export interface RedisStoreOptions {
  readonly redis: RedisPort;
  /** Seals the record's value: a dump of Redis gives no token. */
  readonly codec: SessionCodec;
  readonly names: CookieNames;
  /** `SESSION_SECRET`'s entries: the handle → key hash is keyed with each (the first for new sessions). */
  readonly secrets: readonly string[];
  readonly idleTimeoutS: number;
  readonly refresh: RefreshFunction;
  /** The refresh lock's lifetime: see `redis-refresh.ts`. */
  readonly lockTtlMs: number;
  /** Store latency and errors into metrics, and a client span per operation. */
  readonly ops?: { readonly metrics: Metrics; readonly tracing: Tracing };
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

/**
 * Sessions in Redis (`SESSION_STORE=redis`): the cookie holds only an opaque random handle, the
 * same for the whole session and new at every login. The Redis key is a keyed hash of the handle
 * (a dump of Redis gives no usable cookie) and the value is sealed under a key derived from
 * `SESSION_SECRET` (a dump gives no token). Keys expire with the session: the earlier of the idle
 * timeout (slid on use, at most once a minute) and the absolute end. Logout and the logout
 * channels delete the record, so every instance refuses the cookie at once.
 *
 * Redis unreachable or slow: every call throws `BffError` 503 `session_store_unavailable` at
 * once when disconnected, or after at most two seconds; the client reconnects by itself.
 *
 * @see shared/DESIGN.md, "Sessions: in the cookie, or in Redis"
 */
export function createRedisStore(options: RedisStoreOptions): SessionStore {
  const { redis, codec, names, idleTimeoutS } = options;
  const now = options.now ?? Date.now;
  const idleMs = idleTimeoutS * 1000;
  const slideMs = Math.min(MAX_IDLE_SLIDE_MS, Math.floor(idleMs / 10));
  const hashKeys = options.secrets.map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, 'bff_session_handle', 'okta-bff redis key hash', 32)),
  );
  const hashWith = (key: Buffer, value: string) =>
    createHmac('sha256', key).update(value).digest('base64url').slice(0, 32);
  const primary = (value: string) => hashWith(hashKeys[0] as Buffer, value);
  /**
   * Index and claim keys: a plain hash of the user id, IdP session id or token id. Not keyed with
   * `SESSION_SECRET`, so rotating the secret keeps every session reachable by the logout channels
   * (the values are not secrets; only the handle → record key needs the keyed hash).
   */
  const indexed = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);
  const cache = new Map<string, { version: string; session: Session }>();
  /** Recent handles' record tags (one per secret): an HMAC per request was a tenth of the store's cost. */
  const tags = new Map<string, readonly string[]>();
  const tagsOf = (handle: string): readonly string[] => {
    let known = tags.get(handle);
    if (!known) {
      known = hashKeys.map((key) => hashWith(key, handle));
      if (tags.size >= CACHE_ENTRIES) {
        const oldest = tags.keys().next().value;
        if (oldest !== undefined) tags.delete(oldest);
      }
      tags.set(handle, known);
    }
    return known;
  };
  const attributes = (maxAgeS: number) => ({ maxAgeS, sameSite: 'Lax', secure: names.secure }) as const;

  const metrics = options.ops?.metrics ?? NO_METRICS;
  const tracing = options.ops?.tracing ?? TRACING_OFF;

  /**
   * Runs store work against Redis: fails fast when disconnected, never waits longer than the
   * bound, and reports its latency and outcome (a span, with tracing on).
   */
  const guard = async <T>(call: () => Promise<T>, operation = 'session'): Promise<T> => {
    const start = performance.now();
    let outcome: StoreOutcome = 'error';
    try {
      const result = await inClientSpan(
        tracing,
        `redis ${operation}`,
        { 'db.system.name': 'redis', 'db.operation.name': operation },
        () => bounded(call),
      );
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
      if (error instanceof BffError) throw error;
      throw storeUnavailable(error);
    } finally {
      clearTimeout(timer);
    }
  };

  /** Opens the record `tag`, using the cached copy when its version is current. */
  const load = async (tag: string): Promise<{ version: string; session: Session } | undefined> => {
    const cached = cache.get(tag);
    const reply = await redis.readSession(
      redisKeys.session(tag),
      cached?.version ?? '',
      now(),
      idleMs,
      slideMs,
    );
    if (!reply) {
      cache.delete(tag);
      return undefined;
    }
    const [version, data] = reply;
    if (data === undefined && cached) return cached;
    const session = data === undefined ? undefined : await codec.unsealSession(data);
    if (!session) return undefined;
    const entry = { version, session };
    if (cache.size >= CACHE_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(tag, entry);
    return entry;
  };

  const clear = (cookies: Readonly<Record<string, string>>): CookieToSet[] =>
    chunkNamesPresent(cookies, names.session).map((name) => deletion(name, attributes(0)));

  const remove = async (session: Session) => {
    cache.delete(session.sid);
    await redis.del(redisKeys.session(session.sid));
    await redis.indexRemove(redisKeys.byUser(indexed(session.user.sub)), session.sid);
    if (session.idpSid !== undefined)
      await redis.indexRemove(redisKeys.byIdpSession(indexed(session.idpSid)), session.sid);
  };

  const ttlOf = (session: Session) => Math.min(idleMs, session.expiresAt * 1000 - now());

  const store: SessionStore = {
    read: (cookies) =>
      guard(async (): Promise<OpenedSession | undefined> => {
        const handle = cookies[names.session];
        if (!handle || handle.length > 64) return undefined;
        for (const tag of tagsOf(handle)) {
          const found = await load(tag);
          if (found) return { session: found.session, cookies: [] };
        }
        return undefined;
      }, 'read'),

    async create(fields, cookies) {
      return guard(async () => {
        const previous = cookies[names.session];
        if (previous && previous.length <= 64) await redis.del(redisKeys.session(primary(previous)));
        const handle = randomBytes(HANDLE_BYTES).toString('base64url');
        const session: Session = { ...fields, sid: primary(handle) };
        const ttl = ttlOf(session);
        await redis.createSession(
          redisKeys.session(session.sid),
          await codec.sealSession(session),
          session.expiresAt * 1000,
          ttl,
        );
        const indexTtl = session.expiresAt * 1000 - now();
        try {
          await redis.indexAdd(redisKeys.byUser(indexed(session.user.sub)), session.sid, indexTtl);
          if (session.idpSid !== undefined)
            await redis.indexAdd(redisKeys.byIdpSession(indexed(session.idpSid)), session.sid, indexTtl);
        } catch (error) {
          // A session the logout channels could not find must not exist.
          await redis.del(redisKeys.session(session.sid)).catch(() => {
            // Redis just failed; the record expires with its TTL if this fails too.
          });
          throw error;
        }
        const maxAgeS = Math.max(0, Math.floor(session.expiresAt - now() / 1000));
        return {
          session,
          cookies: [{ name: names.session, value: handle, ...attributes(maxAgeS) }, ...staleChunks(cookies)],
        };
      }, 'create');
    },

    write: (session) =>
      guard(async () => {
        // The coordinator stores refreshed sessions itself; this is for anything else: a
        // compare-and-set on the version just read, so a concurrent change (a refresh) wins over
        // this one. The cookie (the handle) never changes.
        const current = await redis.getData(redisKeys.session(session.sid));
        if (current)
          await redis.swapSession(
            redisKeys.session(session.sid),
            current.version,
            String(Number(current.version) + 1),
            await codec.sealSession(session),
          );
        return [];
      }, 'write'),

    end: async (session, cookies) => {
      if (session) await guard(() => remove(session), 'end');
      return clear(cookies);
    },

    clear,

    async endMatching({ idpSid, sub }: SessionMatch): Promise<EndedSessions> {
      const index =
        idpSid !== undefined
          ? redisKeys.byIdpSession(indexed(idpSid))
          : sub !== undefined
            ? redisKeys.byUser(indexed(sub))
            : undefined;
      if (!index) return { count: 0, refreshTokens: [] };
      const refreshTokens: string[] = [];
      let count = 0;
      // One bounded call per step, not one bound for the whole loop: a user with many sessions
      // must not turn into a 503 that leaves them all alive.
      for (const tag of await guard(() => redis.indexMembers(index), 'end_matching')) {
        const record = await guard(() => redis.getData(redisKeys.session(tag)), 'end_matching');
        const session = record && (await codec.unsealSession(record.data));
        if (session) {
          await guard(() => remove(session), 'end_matching');
          if (session.refreshToken) refreshTokens.push(session.refreshToken);
          count++;
        } else {
          await guard(() => redis.indexRemove(index, tag), 'end_matching');
        }
      }
      return { count, refreshTokens };
    },

    unclaim: (id) => guard(() => redis.del(redisKeys.claim(indexed(id))), 'claim'),

    claimOnce: (id, untilS) =>
      guard(
        () => redis.setIfAbsent(redisKeys.claim(indexed(id)), '1', Math.max(1000, untilS * 1000 - now())),
        'claim',
      ),

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
      codec,
      refresh: options.refresh,
      lockTtlMs: options.lockTtlMs,
      guard,
      load,
      now,
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

function storeUnavailable(cause: unknown): BffError {
  return new BffError(
    'session_store_unavailable',
    503,
    'The session store is not reachable. Try again in a moment.',
    { cause },
  );
}
