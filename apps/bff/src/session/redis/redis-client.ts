import { randomBytes } from 'node:crypto';
import type { CommandParser } from 'redis';

/**
 * The Redis commands the session store uses, as one small port over node-redis, whether the
 * deployment is one server or a Redis Cluster (`REDIS_CLUSTER=true`). Every multi-step change of
 * a session's record is one Lua script on one key, so it is atomic and lands on one slot.
 *
 * Failure behaviour, chosen so that a request never hangs on Redis:
 * - commands fail at once while the connection is down (no offline queue), and the store bounds
 *   each call by {@link REDIS_COMMAND_TIMEOUT_MS} itself (node-redis's own timeout stops at the
 *   socket write); a connection silent for {@link REDIS_SOCKET_TIMEOUT_MS} is replaced;
 * - the client reconnects by itself, with a capped backoff, forever: service resumes without a restart.
 *
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/ (scripts and cluster: declare every key)
 */

/** A command that Redis does not answer in this time fails (the request answers 503). */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
const RECONNECT_MAX_DELAY_MS = 2_000;
/** No byte from Redis for this long on an open connection: it is dropped and reconnected. */
const REDIS_SOCKET_TIMEOUT_MS = 3_000;

/** Key names. One hash tag (`{…}`) per session, so its record and lock share a Redis Cluster slot. */
export const redisKeys = {
  session: (tag: string) => `bff:s:{${tag}}`,
  lock: (tag: string) => `bff:l:{${tag}}`,
  byUser: (hash: string) => `bff:u:{${hash}}`,
  byIdpSession: (hash: string) => `bff:i:{${hash}}`,
  claim: (hash: string) => `bff:j:{${hash}}`,
  rateWindow: (hash: string) => `bff:r:{${hash}}`,
};

/*
 * Every key the store reads may hold anything (a party with write access to Redis, a stray
 * command), so each script checks the key's type before a command that would fail on it: a value
 * the store did not write reads as no value, never as an error (which would answer 503 as if Redis
 * were down). A key of another type at a record key is left as it is; a record, index or counter
 * of the store's own that is broken is deleted or replaced.
 */

/*
 * A record is a hash: `v` its version, `d` the sealed session, `a` its absolute end (epoch ms);
 * and, for the user's list of their sessions, `l` its last use (epoch ms, coarse) and `dv` a coarse
 * description of the browser (`http/user-agent.ts`), both optional (records of earlier releases
 * have neither).
 */

/**
 * The record's version, sealed data and absolute end; slides the key's TTL (the idle timeout).
 * A hash without a version, data or a whole-number absolute end was not written by the store: it
 * is deleted and reads as no record. The last use (`l`) is rewritten when it is at least the slide
 * step old: at most one `HSET` per session and step (a minute), in this same call, like the TTL.
 */
const READ_SESSION = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
local r = redis.call('HMGET', KEYS[1], 'v', 'a', 'l')
local end_ms = r[2] and string.match(r[2], '^%d+$') and tonumber(r[2])
if not r[1] or r[1] == '' or not end_ms or redis.call('HSTRLEN', KEYS[1], 'd') == 0 then
  redis.call('DEL', KEYS[1])
  return false
end
local now = tonumber(ARGV[2])
local step = tonumber(ARGV[4])
local left = end_ms - now
if left <= 0 then redis.call('DEL', KEYS[1]) return false end
local want = math.min(tonumber(ARGV[3]), left)
if redis.call('PTTL', KEYS[1]) < want - step then redis.call('PEXPIRE', KEYS[1], want) end
local seen = r[3] and string.match(r[3], '^%d+$') and tonumber(r[3])
if not seen or now - seen >= step then redis.call('HSET', KEYS[1], 'l', ARGV[2]) end
if r[1] == ARGV[1] then return {r[1]} end
return {r[1], redis.call('HGET', KEYS[1], 'd')}`;

/** The record's version and sealed data, as they are (no TTL change); nothing for a key of another type. */
const GET_SESSION = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
return redis.call('HMGET', KEYS[1], 'v', 'd')`;

/**
 * The record's version alone, as it is (no TTL change: a look is not activity); nothing for a key
 * of another type or a hash without a version. The WebSocket liveness check, once a second for
 * every session with an open socket: a few bytes per session, not the sealed data.
 */
const READ_RECORD_VERSION = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
return redis.call('HGET', KEYS[1], 'v')`;

/**
 * A new record (version `ARGV[1]`), expiring with the session (the earlier of idle and absolute
 * end), with its last use `ARGV[5]` and device `ARGV[6]` when given.
 */
const CREATE_SESSION = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'a', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'l', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'dv', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/**
 * The record's version, last use and device as they are (no TTL change: another session's look is
 * not its activity), and its sealed data unless `ARGV[1]` is its version (cached by the caller).
 * Nothing for a key of another type or a hash without a version.
 */
const LOOK_RECORD = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
local r = redis.call('HMGET', KEYS[1], 'v', 'l', 'dv')
if not r[1] or r[1] == '' then return false end
local found = {r[1], r[2] or '', r[3] or ''}
if r[1] ~= ARGV[1] then found[4] = redis.call('HGET', KEYS[1], 'd') or '' end
return found`;

/** Replaces the data only if the version is still the one read (compare-and-set). */
const SWAP_SESSION = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
return 1`;

/** Deletes a lock only when `ARGV[1]` still owns it. */
const RELEASE_LOCK = `
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Adds to an index set and keeps it until at least `ARGV[2]` ms from now. Anything but a set at
 * the key lists no session: a set holding the new entry replaces it.
 */
const INDEX_ADD = `
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'set' and t ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/** An index set's members; none when the key holds anything but a set. */
const INDEX_MEMBERS = `
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then return {} end
return redis.call('SMEMBERS', KEYS[1])`;

/** Removes an entry from an index set; a key of another type is left as it is. */
const INDEX_REMOVE = `
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then return 0 end
return redis.call('SREM', KEYS[1], ARGV[1])`;

/**
 * One hit in a fixed window of `ARGV[1]` ms: the count so far and the ms until the window resets.
 * Anything but a count at the key starts the window again.
 */
const COUNT_HIT = `
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and (t ~= 'string' or not string.match(redis.call('GET', KEYS[1]), '^%d+$')) then
  redis.call('DEL', KEYS[1])
end
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

/**
 * Random bytes in a record's version: 96 bits, new at every write, so a record that was not
 * written in this session's own history does not carry a version an instance cached for it.
 */
const RECORD_VERSION_BYTES = 12;
const RECORD_VERSION = /^[\w-]{16}$/;

function newRecordVersion(): string {
  return randomBytes(RECORD_VERSION_BYTES).toString('base64url');
}

/**
 * Whether `version` is one {@link RedisPort} writes now (random). Records written before versions
 * were random count 1, 2, …: such a version is shared by many records, so it must not identify a
 * cached copy.
 */
export function isRecordVersion(version: string): boolean {
  return RECORD_VERSION.test(version);
}

type Arg = string;
type RedisModule = typeof import('redis');

/** The scripts, defined with the loaded module's `defineScript`. */
function scriptsOf(redis: RedisModule) {
  const script = (source: string) =>
    redis.defineScript({
      SCRIPT: source,
      NUMBER_OF_KEYS: 1,
      parseCommand(parser: CommandParser, key: Arg, ...args: Arg[]) {
        parser.pushKey(key);
        parser.push(...args);
      },
      transformReply: undefined as unknown as () => unknown,
    });
  return {
    bffReadSession: script(READ_SESSION),
    bffGetSession: script(GET_SESSION),
    bffRecordVersion: script(READ_RECORD_VERSION),
    bffLookRecord: script(LOOK_RECORD),
    bffCreateSession: script(CREATE_SESSION),
    bffSwapSession: script(SWAP_SESSION),
    bffReleaseLock: script(RELEASE_LOCK),
    bffIndexAdd: script(INDEX_ADD),
    bffIndexMembers: script(INDEX_MEMBERS),
    bffIndexRemove: script(INDEX_REMOVE),
    bffCountHit: script(COUNT_HIT),
  };
}

/** What the store needs from Redis. */
export interface RedisPort {
  /** `[version]` when `knownVersion` is current, `[version, data]` otherwise, `undefined` when there is no record. */
  readSession(
    key: string,
    knownVersion: string,
    nowMs: number,
    idleMs: number,
    slideMs: number,
  ): Promise<[string, string?] | undefined>;
  /**
   * Writes a new record: its version, random (see {@link isRecordVersion}); with `about`, its last
   * use (epoch ms) and a device description (already coarse: see `http/user-agent.ts`).
   */
  createSession(
    key: string,
    data: string,
    absoluteEndMs: number,
    ttlMs: number,
    about?: { readonly lastSeenMs?: number; readonly device?: string },
  ): Promise<string>;
  /**
   * Replaces the record's data if its version is still `expectedVersion`: the new version (random),
   * or `undefined` when the record changed or is gone meanwhile.
   */
  swapSession(key: string, expectedVersion: string, data: string): Promise<string | undefined>;
  /**
   * Each record's version as it is (no TTL change), `undefined` where there is none, in the order
   * of `keys`: sent in one tick, so node-redis writes them as one pipeline (one round trip per
   * node). The TTLs are not touched: looking is not activity.
   */
  recordVersions(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** The record's version and data as they are; `undefined` when there is no record. */
  getData(key: string): Promise<{ version: string; data: string } | undefined>;
  /**
   * Each record as it is (no TTL change), in the order of `records`, `undefined` where there is
   * none: its version, last use and device, and its sealed data unless its version is `knownVersion`.
   * Sent in one tick (one pipeline), like {@link recordVersions}.
   */
  lookRecords(
    records: readonly { readonly key: string; readonly knownVersion: string }[],
  ): Promise<(RecordLook | undefined)[]>;
  del(key: string): Promise<void>;
  /** Whether `key` holds a record (one that idled out or was ended does not, nor a key of another type). */
  hasRecord(key: string): Promise<boolean>;
  indexAdd(key: string, member: string, ttlMs: number): Promise<void>;
  indexMembers(key: string): Promise<string[]>;
  indexRemove(key: string, member: string): Promise<void>;
  /** `SET key value NX PX ttl`: true when it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  releaseLock(key: string, owner: string): Promise<void>;
  /** Counts a hit in a fixed window (rate limits): the count so far and when the window resets. */
  countHit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  ping(): Promise<void>;
  readonly isReady: () => boolean;
  /**
   * Resolves once the client has been ready for the first time, or after `timeoutMs`; at once
   * when that already happened. Lets the first requests after start-up wait for the connection
   * instead of failing, while later outages still fail fast.
   */
  firstReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A record as {@link RedisPort.lookRecords} sees it. */
export interface RecordLook {
  readonly version: string;
  /** Epoch milliseconds; `undefined` for a record without one (written by an earlier release). */
  readonly lastSeenMs: number | undefined;
  /** As stored: check it before showing it (`deviceDescriptionOr`). */
  readonly device: string | undefined;
  /** The sealed session; `undefined` when its version was the known one. */
  readonly data: string | undefined;
}

export interface RedisPortOptions {
  readonly url: string;
  readonly cluster: boolean;
  /** Connection errors, for the log (throttled by the caller). */
  readonly onError: (error: Error) => void;
}

/**
 * Connects (in the background: the first connection failing is not fatal) and returns the port.
 * The `redis` package is loaded here, on first use, not at start-up: it is about 25 MB of a
 * process's memory, which the default cookie store never needs.
 */
export function connectRedis(options: RedisPortOptions): RedisPort {
  let opened: ReturnType<typeof openClient> | undefined;
  const loading = import('redis').then(
    (redis) => {
      opened = openClient(redis, options);
    },
    (error: Error) => options.onError(error),
  );
  const use = () => {
    if (!opened) throw new Error('the Redis client is still loading');
    return opened;
  };
  return {
    async readSession(key, knownVersion, nowMs, idleMs, slideMs) {
      const reply = (await use().scripts.bffReadSession(
        key,
        knownVersion,
        String(nowMs),
        String(idleMs),
        String(slideMs),
      )) as [string, string?] | null;
      return reply ?? undefined;
    },
    async createSession(key, data, absoluteEndMs, ttlMs, about = {}) {
      const version = newRecordVersion();
      await use().scripts.bffCreateSession(
        key,
        version,
        data,
        String(absoluteEndMs),
        String(Math.max(1, Math.floor(ttlMs))),
        about.lastSeenMs === undefined ? '' : String(Math.floor(about.lastSeenMs)),
        about.device ?? '',
      );
      return version;
    },
    async swapSession(key, expectedVersion, data) {
      const version = newRecordVersion();
      return (await use().scripts.bffSwapSession(key, expectedVersion, version, data)) === 1
        ? version
        : undefined;
    },
    async recordVersions(keys) {
      const client = use();
      const replies = await Promise.all(keys.map((key) => client.scripts.bffRecordVersion(key)));
      return replies.map((reply) => (typeof reply === 'string' && reply !== '' ? reply : undefined));
    },
    async getData(key) {
      const [version, data] = ((await use().scripts.bffGetSession(key)) ?? []) as (string | null)[];
      return version && data ? { version: String(version), data: String(data) } : undefined;
    },
    async lookRecords(records) {
      const client = use();
      const replies = await Promise.all(
        records.map(({ key, knownVersion }) => client.scripts.bffLookRecord(key, knownVersion)),
      );
      return replies.map((reply): RecordLook | undefined => {
        if (!Array.isArray(reply) || typeof reply[0] !== 'string' || reply[0] === '') return undefined;
        const [version, seen, device, data] = reply.map((field) => (field == null ? '' : String(field)));
        const lastSeenMs = /^\d{1,15}$/.test(seen ?? '') ? Number(seen) : undefined;
        return {
          version: version ?? '',
          lastSeenMs,
          device: device || undefined,
          data: reply.length > 3 ? data : undefined,
        };
      });
    },
    async del(key) {
      await use().client.del(key);
    },
    hasRecord: async (key) => (await use().client.type(key)) === 'hash',
    async indexAdd(key, member, ttlMs) {
      await use().scripts.bffIndexAdd(key, member, String(Math.max(1, Math.floor(ttlMs))));
    },
    indexMembers: async (key) => ((await use().scripts.bffIndexMembers(key)) as string[]).map(String),
    async indexRemove(key, member) {
      await use().scripts.bffIndexRemove(key, member);
    },
    async setIfAbsent(key, value, ttlMs) {
      return (
        (await use().client.set(key, value, {
          condition: 'NX',
          expiration: { type: 'PX', value: Math.max(1, Math.floor(ttlMs)) },
        })) === 'OK'
      );
    },
    async releaseLock(key, owner) {
      await use().scripts.bffReleaseLock(key, owner);
    },
    async countHit(key, windowMs) {
      const [count, resetInMs] = (await use().scripts.bffCountHit(key, String(windowMs))) as [number, number];
      return { count, resetInMs };
    },
    async ping() {
      // A keyed read, so that a cluster routes it to a node like any session command.
      await use().client.exists('bff:probe');
    },
    isReady: () => opened?.ready() ?? false,
    async firstReady(timeoutMs) {
      if (opened?.wasReady()) return;
      const end = Date.now() + timeoutMs;
      while (!opened?.wasReady() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    async close() {
      await loading;
      await opened?.client.close();
    },
  };
}

/** The node-redis client (one server or a cluster) with the scripts, connecting in the background. */
function openClient(redis: RedisModule, { url, cluster, onError }: RedisPortOptions) {
  const socket = {
    connectTimeout: REDIS_COMMAND_TIMEOUT_MS * 2,
    // A server that stops answering (paused, network gone) is only noticed by socket silence:
    // node-redis's command timeout covers the wait before a command is written, not the answer.
    socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
    // Always reconnect, also after a socket timeout (node-redis gives up on those by default).
    reconnectStrategy: (retries: number) => Math.min(RECONNECT_MAX_DELAY_MS, 50 * 2 ** Math.min(retries, 6)),
  };
  const common = {
    disableOfflineQueue: true,
    // Keeps an idle connection from tripping the socket timeout.
    pingInterval: REDIS_SOCKET_TIMEOUT_MS / 3,
    commandOptions: { timeout: REDIS_COMMAND_TIMEOUT_MS },
  };
  const scripts = scriptsOf(redis);
  const client = cluster
    ? redis.createCluster({ rootNodes: [{ url }], defaults: { socket, ...common }, scripts })
    : redis.createClient({ url, socket, ...common, scripts });
  client.on('error', onError);
  // The first connection may fail (Redis not up yet): the reconnect strategy keeps trying; until
  // then commands fail fast and /readyz says why.
  client.connect().catch(onError);
  const ready = () => client.isReady;
  let everReady = false;
  const wasReady = () => {
    if (!everReady && client.isReady) everReady = true;
    return everReady;
  };
  // The scripts are methods node-redis adds from `scripts`; its types for them differ between a
  // client and a cluster, so they are called through one plain signature.
  const callable = client as unknown as Record<keyof typeof scripts, (...args: string[]) => Promise<unknown>>;
  return { client, scripts: callable, ready, wasReady };
}
