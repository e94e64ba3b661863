import { BoundedMap } from '../../bounded-map.ts';
import type { Session } from '../model/session.ts';
import type { SessionCodec } from '../model/session-codec.ts';
import { isRecordVersion, type RedisPort, redisKeys } from './redis-client.ts';

/** The idle TTL in Redis is pushed forward at most this often per session (one `PEXPIRE`). */
const MAX_IDLE_SLIDE_MS = 60_000;
/** Opened records kept in memory by version, so an unchanged record is not unsealed again. */
const CACHE_ENTRIES = 1_000;

/** A session's record as opened: its version (new at every write) and the session sealed in it. */
export interface OpenedRecord {
  readonly version: string;
  readonly session: Session;
}

export interface RedisRecordsOptions {
  readonly redis: RedisPort;
  /** Seals the record's value: a dump of Redis gives no token. */
  readonly codec: SessionCodec;
  /** The idle timeout: a record's TTL, slid by each read. */
  readonly idleMs: number;
  /** Epoch milliseconds. */
  readonly nowMs: () => number;
}

/**
 * The sessions' records of one store: sealed bound to their key, and the last 1000 opened kept
 * in memory by version, so that a record unchanged since is not unsealed again.
 */
export interface RedisRecords {
  /** Seals `session` for the record `tag` only: the tag is authenticated data of the seal. */
  readonly seal: (tag: string, session: Session) => Promise<string>;
  /** Opens a record's value found under `tag`; one sealed for another record opens as nothing. */
  readonly open: (tag: string, data: string) => Promise<Session | undefined>;
  /**
   * Opens the record `tag` as a request uses it (sliding its idle TTL), using the cached copy when
   * its version is current; `undefined` when it is gone or does not open.
   */
  readonly load: (tag: string) => Promise<OpenedRecord | undefined>;
  /** The copy of the record `tag` opened last, while it is cached: its version may be stale. */
  readonly cached: (tag: string) => OpenedRecord | undefined;
  /** Opens `record`, just read under `tag` without sliding it, and caches it if it opens (as `load` does). */
  readonly openAndCache: (
    tag: string,
    record: { version: string; data: string },
  ) => Promise<Session | undefined>;
  /** Forgets the cached copy of the record `tag` (its record is being deleted). */
  readonly forget: (tag: string) => void;
}

export function createRedisRecords({ redis, codec, idleMs, nowMs }: RedisRecordsOptions): RedisRecords {
  const slideMs = Math.min(MAX_IDLE_SLIDE_MS, Math.floor(idleMs / 10));
  const cache = new BoundedMap<string, OpenedRecord>(CACHE_ENTRIES);

  const seal = (tag: string, session: Session) => codec.sealSession(session, tag);
  const open = (tag: string, data: string) => codec.unsealSession(data, tag);

  /**
   * Versions are random and new at every write, so a record put under the key by anyone else
   * (another session's copied there, one restored after a logout) does not carry the cached
   * version: it is opened, and the binding refuses it. Only a writer who read this very record
   * could copy its version too, and this record, put back whole, would open anyway.
   */
  const load = async (tag: string): Promise<OpenedRecord | undefined> => {
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
    const session = data === undefined ? undefined : await open(tag, data);
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

  return {
    seal,
    open,
    load,
    cached: (tag) => cache.get(tag),
    async openAndCache(tag, record) {
      const session = await open(tag, record.data);
      // As in `load`: a version from before versions were random names no copy.
      if (session && isRecordVersion(record.version)) cache.set(tag, { version: record.version, session });
      return session;
    },
    forget: (tag) => void cache.delete(tag),
  };
}
