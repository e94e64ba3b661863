/**
 * The Redis store's list of a user's sessions (`listOfUser`, `endById`, `endOthers`) against a
 * real `redis-server`, with the store's clock in the test's hands: what a record keeps for the
 * list (a coarse device, a coarse last use), what looking costs, and what an id can and cannot do.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessionCodecFor } from '../../services.ts';
import { TEST_SESSION_SECRET } from '../../testing/harness.ts';
import { type RedisServer, startRedisServer } from '../../testing/redis-server.ts';
import type { Session } from '../model/session.ts';
import { COOKIE_PURPOSE } from '../store/cookies.ts';
import type { SessionStore } from '../store/store.ts';
import { connectRedis, redisKeys } from './redis-client.ts';
import { createRedisStore } from './redis-store.ts';

const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const IDLE_S = 7200;
/** The store's slide step with a 2 h idle timeout: a minute. */
const STEP_MS = 60_000;

let redis: RedisServer;
let raw: ReturnType<typeof createClient>;
const stores: SessionStore[] = [];
/** The stores' clock (epoch ms); Redis's own TTLs run in real time. */
let now = Date.now();

beforeAll(async () => {
  redis = await startRedisServer();
  raw = createClient({ url: redis.url });
  await raw.connect();
});
beforeEach(async () => {
  now = Date.now();
  await raw.flushAll();
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  await raw?.close();
  await redis?.close();
});

function storeOf(secrets: readonly string[] = [TEST_SESSION_SECRET]): SessionStore {
  const store = createRedisStore({
    redis: connectRedis({ url: redis.url, cluster: false, onError: () => {} }),
    codec: sessionCodecFor(secrets, COOKIE_PURPOSE.redisRecord),
    names: { session: 'bff_session', txnPrefix: 'bff_txn.', secure: false },
    secrets,
    idleTimeoutS: IDLE_S,
    lockTtlMs: 5_000,
    refresh: async () => ({ ok: false, failure: 'refused', cause: 'unused' }),
    nowMs: () => now,
  });
  stores.push(store);
  return store;
}

/** A sign-in of `sub` through `store`, from a browser saying `userAgent`: the session and its cookie. */
async function signIn(store: SessionStore, sub: string, userAgent?: string) {
  const s = Math.floor(now / 1000);
  const fields: Omit<Session, 'sid'> = {
    idpSid: `idp-${sub}-${s}-${Math.random()}`,
    user: { sub },
    accessToken: `at-${Math.random()}`,
    accessTokenExpiresAt: s + 3600,
    refreshToken: `rt-${Math.random()}`,
    idToken: undefined,
    scope: 'openid',
    createdAt: s,
    lastSeenAt: s,
    expiresAt: s + 8 * 3600,
  };
  const { session, cookies } = await store.create(fields, {}, { userAgent });
  return { session, cookies: { bff_session: cookies[0]!.value } };
}

describe('what a record keeps for the list', () => {
  it('a coarse device description, never the User-Agent; “Unknown device” without one', async () => {
    const store = storeOf();
    const laptop = await signIn(store, 'alice', FIREFOX_WINDOWS);
    await signIn(store, 'alice', SAFARI_IPHONE);
    await signIn(store, 'alice');
    const devices = (await store.listOfUser(laptop.session)).map((s) => s.device).sort();
    expect(devices).toEqual(['Firefox on Windows', 'Safari on iPhone', 'Unknown device']);
    expect(await raw.hGet(redisKeys.session(laptop.session.sid), 'dv')).toBe('Firefox on Windows');
    for (const key of await raw.keys('*')) {
      const value = JSON.stringify((await raw.type(key)) === 'hash' ? await raw.hGetAll(key) : '');
      expect(value).not.toMatch(/Mozilla|Gecko|rv:125|Win64/);
    }
  });

  it('the last use: rewritten by a read at most once a step (no write per request), never by a look', async () => {
    const store = storeOf();
    const start = now;
    const laptop = await signIn(store, 'alice');
    const phone = await signIn(store, 'alice');
    const key = redisKeys.session(phone.session.sid);
    const lastSeenOf = async () =>
      (await store.listOfUser(laptop.session)).find((s) => !s.current)!.lastSeenAt;
    expect(await raw.hGet(key, 'l')).toBe(String(start));

    now = start + STEP_MS / 2;
    await store.read(phone.cookies);
    expect(await raw.hGet(key, 'l')).toBe(String(start));
    now = start + STEP_MS + 1_000;
    await store.read(phone.cookies);
    expect(await raw.hGet(key, 'l')).toBe(String(now));
    expect(await lastSeenOf()).toBe(Math.floor(now / 1000));

    // Reads within the next step change nothing; listing it from the laptop neither.
    const seen = now;
    now += STEP_MS - 1_000;
    await store.read(phone.cookies);
    await store.listOfUser(laptop.session);
    await store.endOthers((await signIn(store, 'bob')).session);
    expect(await raw.hGet(key, 'l')).toBe(String(seen));
  });

  it('listing does not slide another session’s idle clock (its TTL)', async () => {
    const store = storeOf();
    const laptop = await signIn(store, 'alice');
    const phone = await signIn(store, 'alice');
    const key = redisKeys.session(phone.session.sid);
    await raw.pExpire(key, 5_000);
    now += 10 * STEP_MS;
    expect(await store.listOfUser(laptop.session)).toHaveLength(2);
    expect(await raw.pTTL(key)).toBeLessThanOrEqual(5_000);
  });

  it('a record of an earlier release (no last use, no device) lists with its sign-in time and “Unknown device”', async () => {
    const store = storeOf();
    const laptop = await signIn(store, 'alice');
    const older = await signIn(store, 'alice', FIREFOX_WINDOWS);
    await raw.hDel(redisKeys.session(older.session.sid), ['l', 'dv']);
    const listed = (await storeOf().listOfUser(laptop.session)).find((s) => !s.current)!;
    expect(listed).toMatchObject({ device: 'Unknown device', lastSeenAt: older.session.createdAt });
  });

  it('a device field rewritten in Redis is shown as “Unknown device”, never as written', async () => {
    const store = storeOf();
    const laptop = await signIn(store, 'alice', FIREFOX_WINDOWS);
    await raw.hSet(redisKeys.session(laptop.session.sid), 'dv', '<img src=x onerror=alert(1)>');
    expect((await store.listOfUser(laptop.session))[0]!.device).toBe('Unknown device');
  });
});

describe('ids', () => {
  it('are stable, the same on every instance, and none of handle, record key or sid', async () => {
    const [a, b] = [storeOf(), storeOf()];
    const laptop = await signIn(a, 'alice');
    const [first] = await a.listOfUser(laptop.session);
    const [again] = await b.listOfUser(laptop.session);
    expect(again!.id).toBe(first!.id);
    const id = first!.id;
    expect(id).not.toBe(laptop.cookies.bff_session);
    expect(id).not.toBe(laptop.session.sid);
    for (const key of await raw.keys('*')) expect(key).not.toContain(id);
  });

  it('one shown before a secret rotation still ends its session after it', async () => {
    const OLD = TEST_SESSION_SECRET;
    const NEW = 'a-new-session-secret-0123456789abcdef';
    const laptop = await signIn(storeOf([OLD]), 'alice');
    const phone = await signIn(storeOf([OLD]), 'alice');
    const oldId = (await storeOf([OLD]).listOfUser(laptop.session)).find((s) => !s.current)!.id;
    const rotated = storeOf([NEW, OLD]);
    const opened = (await rotated.read(laptop.cookies))!.session;
    expect((await rotated.listOfUser(opened)).map((s) => s.id)).not.toContain(oldId);
    expect((await rotated.endById(opened, oldId))?.sid).toBe(phone.session.sid);
    expect(await rotated.read(phone.cookies)).toBeUndefined();
  });

  it('name only the asking user’s live sessions: another user’s id ends nothing', async () => {
    const store = storeOf();
    const alice = await signIn(store, 'alice');
    const bob = await signIn(store, 'bob');
    const [bobs] = await store.listOfUser(bob.session);
    expect(await store.endById(alice.session, bobs!.id)).toBeUndefined();
    expect(await store.read(bob.cookies)).toBeDefined();
  });
});

describe('ending', () => {
  it('endById and endOthers delete the records and their index entries, and tell the end hook', async () => {
    const store = storeOf();
    const notices: unknown[] = [];
    store.onSessionsEnded((ended) => notices.push(ended.sids));
    const laptop = await signIn(store, 'alice');
    const phone = await signIn(store, 'alice');
    const tablet = await signIn(store, 'alice');
    const phoneId = (await store.listOfUser(phone.session))[0]!.id;

    const ended = await store.endById(laptop.session, phoneId);
    expect(ended).toMatchObject({ sid: phone.session.sid, refreshToken: phone.session.refreshToken });
    expect(await raw.exists(redisKeys.session(phone.session.sid))).toBe(0);
    const others = await store.endOthers(laptop.session);
    expect(others.map((s) => s.sid)).toEqual([tablet.session.sid]);
    expect(notices).toEqual([[phone.session.sid], [tablet.session.sid]]);

    for (const key of await raw.keys('bff:[ui]:*')) {
      const members = await raw.sMembers(key);
      expect(members).not.toContain(phone.session.sid);
      expect(members).not.toContain(tablet.session.sid);
    }
    expect(await store.read(laptop.cookies)).toBeDefined();
    expect((await store.listOfUser(laptop.session)).map((s) => s.current)).toEqual([true]);
  });

  it('its own id ends the asking session itself', async () => {
    const store = storeOf();
    const laptop = await signIn(store, 'alice');
    const [own] = await store.listOfUser(laptop.session);
    expect((await store.endById(laptop.session, own!.id))?.sid).toBe(laptop.session.sid);
    expect(await store.read(laptop.cookies)).toBeUndefined();
  });
});
