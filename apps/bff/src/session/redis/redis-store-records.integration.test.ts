import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, useRedisGateway } from '../../testing/gateway.ts';
import { type Bff, CookieJar, DEV_USERS, INSTANCE_HEADER, signIn } from '../../testing/harness.ts';
import { connectRedis, type RedisPort, redisKeys } from './redis-client.ts';

const [ALICE, BOB] = [DEV_USERS[0]!, DEV_USERS[1]!];

const bed = useRedisGateway();

const on = (instance: number) => ({ [INSTANCE_HEADER]: String(instance) });

/** Each of the jar's requests refused as no session on `instance`: `/auth/user` and `/api`, nothing forwarded. */
async function expectNoSession(bff: Bff, cookie: string, instance: number): Promise<void> {
  const user = await bff.fetch('/auth/user', { headers: { cookie, ...on(instance) } });
  expect(user.status).toBe(401);
  expect(await user.json()).toEqual({ authenticated: false });
  const api = await bed.g.raw('/api/things', { headers: { 'x-csrf': '1', cookie, ...on(instance) } });
  expect(errorOf(api)).toEqual({ status: 401, error: 'unauthenticated' });
  expect(bed.g.rec.requests).toEqual([]);
}

const logout = (cookie: string, instance: number) =>
  bed.g.raw('/auth/logout', { method: 'POST', headers: { 'x-csrf': '1', cookie, ...on(instance) } });

const backchannelLogout = async (bff: Bff, claims: { sub?: string; sid?: string }) =>
  bff.fetch('/auth/backchannel-logout', {
    method: 'POST',
    body: `logout_token=${await bed.g.h.idp.signLogoutToken(claims)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

/** The index sets (`bff:u:*` or `bff:i:*`) that list the record `tag`. */
async function indexesListing(pattern: string, tag: string): Promise<string[]> {
  const found: string[] = [];
  for (const key of await bed.raw.keys(pattern))
    if ((await bed.raw.type(key)) === 'set' && (await bed.raw.sIsMember(key, tag))) found.push(key);
  return found;
}

/** Replaces `key` with a string, as anyone with write access to Redis could. */
async function overwriteWithString(key: string): Promise<void> {
  await bed.raw.del(key);
  await bed.raw.set(key, 'not a set');
}

describe('a record restored under a key after its session ended', () => {
  it.each<[string, 'fresh' | 'rewritten' | 'counted']>([
    ['records fresh from their login', 'fresh'],
    ['records rewritten once since', 'rewritten'],
    ['records written when versions were counted: 1, 2, …', 'counted'],
  ])('never answers from an instance’s cache (%s): 401 everywhere, nothing forwarded', async (_, history) => {
    const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
    const [alice, bob] = [new CookieJar(), new CookieJar()];
    await signIn(bff, alice, { user: ALICE });
    await signIn(bff, bob, { user: BOB });
    if (history === 'rewritten') {
      // Both records changed the same number of times (as a refresh each would do).
      const look = bed.storeFor();
      for (const jar of [alice, bob]) await look.store.write(await look.session(jar), {});
      await look.close();
    }
    if (history === 'counted') {
      for (const jar of [alice, bob])
        await bed.raw.hSet(redisKeys.session((await bed.sessionOf(jar)).sid), 'v', '1');
    }
    const aliceKey = redisKeys.session((await bed.sessionOf(alice)).sid);
    const bobKey = redisKeys.session((await bed.sessionOf(bob)).sid);
    // Sent as it is every time: a 401 deletes the cookie from the jar.
    const cookie = String(bed.g.apiHeaders(bob).cookie);

    // Instance 1 opens Bob's record and keeps it in its cache; Bob then signs out on instance 0.
    expect((await bff.fetch('/auth/user', { headers: { cookie, ...on(1) } })).status).toBe(200);
    expect((await logout(cookie, 0)).status).toBe(200);
    expect(await bed.raw.exists(bobKey)).toBe(0);

    await bed.raw.copy(aliceKey, bobKey, { REPLACE: true });
    for (const instance of [1, 0]) await expectNoSession(bff, cookie, instance);
    // Alice's own session is unaffected.
    expect((await bff.fetch('/auth/user', { jar: alice, headers: on(1) })).status).toBe(200);
  });
});

describe('a malformed record or a key of the wrong type at a session key', () => {
  it.each<[string, (key: string) => Promise<unknown>, 'deleted' | 'kept']>([
    ['a hash without its absolute end', (key) => bed.raw.hDel(key, 'a'), 'deleted'],
    ['a hash whose absolute end is not a number', (key) => bed.raw.hSet(key, 'a', 'soon'), 'deleted'],
    ['a hash whose absolute end is “inf”', (key) => bed.raw.hSet(key, 'a', 'inf'), 'deleted'],
    ['a hash without its version', (key) => bed.raw.hDel(key, 'v'), 'deleted'],
    ['a hash without its data', (key) => bed.raw.hDel(key, 'd'), 'deleted'],
    ['a string', (key) => overwriteWithString(key), 'kept'],
    ['a set', async (key) => (await bed.raw.del(key)) + (await bed.raw.sAdd(key, 'x')), 'kept'],
    ['a list', async (key) => (await bed.raw.del(key)) + (await bed.raw.rPush(key, 'x')), 'kept'],
  ])(
    '%s reads as no session: 401 on /auth/user and /api on every instance, nothing forwarded',
    async (_, corrupt, after) => {
      const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
      const bob = new CookieJar();
      await signIn(bff, bob, { user: BOB });
      const key = redisKeys.session((await bed.sessionOf(bob)).sid);
      const fields = await bed.raw.hGetAll(key);
      const cookie = String(bed.g.apiHeaders(bob).cookie);
      // Instance 1 has the record in its cache; instance 0 has never opened it.
      expect((await bff.fetch('/auth/user', { headers: { cookie, ...on(1) } })).status).toBe(200);
      const restore = async () => {
        await bed.raw.del(key);
        await bed.raw.hSet(key, fields);
        await bed.raw.pExpire(key, 60_000);
      };

      for (const instance of [1, 0]) {
        for (const path of ['/auth/user', '/api/things']) {
          await restore();
          await corrupt(key);
          const type = await bed.raw.type(key);
          const res = await bed.g.raw(path, { headers: { 'x-csrf': '1', cookie, ...on(instance) } });
          expect(res.status, `${path} on ${instance}`).toBe(401);
          if (path === '/auth/user') expect(JSON.parse(res.text)).toEqual({ authenticated: false });
          else expect(errorOf(res)).toEqual({ status: 401, error: 'unauthenticated' });
          // A broken record is removed; a key of another type is not the store's to touch.
          if (after === 'deleted') expect(await bed.raw.exists(key)).toBe(0);
          else expect(await bed.raw.type(key)).toBe(type);
        }
        await expectNoSession(bff, cookie, instance);
      }
      expect(bed.g.rec.requests).toEqual([]);

      // Control: the intact record still opens on both instances.
      await restore();
      for (const instance of [1, 0])
        expect((await bff.fetch('/auth/user', { headers: { cookie, ...on(instance) } })).status).toBe(200);
    },
  );
});

describe('index keys of the wrong type', () => {
  /** Bob signed in, and the user and IdP-session index keys that list his session. */
  async function bobWithIndexes(bff: Bff, idpJar = new CookieJar()) {
    const jar = new CookieJar();
    await signIn(bff, jar, { user: BOB, idpJar });
    const session = await bed.sessionOf(jar);
    const indexes = [
      ...(await indexesListing('bff:u:*', session.sid)),
      ...(await indexesListing('bff:i:*', session.sid)),
    ];
    expect(indexes).toHaveLength(2);
    return { jar, session, indexes, cookie: String(bed.g.apiHeaders(jar).cookie) };
  }

  it('a login replaces them with sets that list the new session, so the logout channels find it', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
    // One IdP session for both logins: the second one's index keys are the ones overwritten.
    const idpJar = new CookieJar();
    const { indexes } = await bobWithIndexes(bff, idpJar);
    for (const index of indexes) await overwriteWithString(index);

    const jar = new CookieJar();
    const { callback } = await signIn(bff, jar, { user: BOB, idpJar });
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).not.toMatch(/error/);
    for (const instance of [0, 1])
      expect((await bff.fetch('/auth/user', { jar, headers: on(instance) })).status).toBe(200);
    const { sid } = await bed.sessionOf(jar);
    const listing = [...(await indexesListing('bff:u:*', sid)), ...(await indexesListing('bff:i:*', sid))];
    expect(listing).toEqual(indexes);
    for (const index of indexes) {
      expect(await bed.raw.sMembers(index)).toEqual([sid]);
      expect(await bed.raw.pTTL(index)).toBeGreaterThan(0);
    }

    expect((await backchannelLogout(bff, { sub: BOB.claims.sub })).status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  it('a logout still ends the session: 200, the record gone on every instance, the keys left as they are', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
    const { session, indexes, cookie } = await bobWithIndexes(bff);
    expect((await bff.fetch('/auth/user', { headers: { cookie, ...on(1) } })).status).toBe(200);
    for (const index of indexes) await overwriteWithString(index);

    const res = await logout(cookie, 0);
    expect(res.status).toBe(200);
    expect(await bed.raw.exists(redisKeys.session(session.sid))).toBe(0);
    for (const instance of [1, 0]) await expectNoSession(bff, cookie, instance);
    for (const index of indexes) expect(await bed.raw.type(index)).toBe('string');
  });

  it('the logout channels answer 200 and end what they can still find', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
    const bob = await bobWithIndexes(bff);
    // Alice: two sessions, one of whose record keys holds a string now.
    const [alice1, alice2] = [new CookieJar(), new CookieJar()];
    await signIn(bff, alice1, { user: ALICE });
    await signIn(bff, alice2, { user: ALICE });
    const broken = redisKeys.session((await bed.sessionOf(alice1)).sid);
    await overwriteWithString(broken);
    for (const index of bob.indexes) await overwriteWithString(index);

    // Bob's indexes hold no entries any more: nothing to end, and no outage.
    expect((await backchannelLogout(bff, { sub: BOB.claims.sub })).status).toBe(200);
    expect((await backchannelLogout(bff, { sid: bob.session.idpSid! })).status).toBe(200);
    const front = await bff.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: bed.g.h.idp.issuer, sid: bob.session.idpSid! })}`,
    );
    expect(front.status).toBe(200);

    // Alice's index lists a key that holds no record: skipped (and dropped from the index).
    const aliceIndex = (await indexesListing('bff:u:*', (await bed.sessionOf(alice2)).sid))[0]!;
    expect((await backchannelLogout(bff, { sub: ALICE.claims.sub })).status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar: alice2 })).status).toBe(401);
    expect(await bed.raw.type(broken)).toBe('string');
    expect(await bed.raw.exists(aliceIndex)).toBe(0);
  });
  it('an entry whose record key holds another type leaves the user’s index at the next login', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv());
    const [first, second] = [new CookieJar(), new CookieJar()];
    await signIn(bff, first, { user: BOB });
    const { sid } = await bed.sessionOf(first);
    const [byUser] = await indexesListing('bff:u:*', sid);
    await overwriteWithString(redisKeys.session(sid));

    await signIn(bff, second, { user: BOB });
    expect(await bed.raw.sMembers(byUser!)).toEqual([(await bed.sessionOf(second)).sid]);
    expect(await bed.raw.type(redisKeys.session(sid))).toBe('string');
  });
});

describe('the Redis port on keys of the wrong type, and record versions', () => {
  let port: RedisPort;
  beforeAll(async () => {
    port = connectRedis({ url: bed.redis.url, cluster: false, onError: () => {} });
    await port.firstReady(5_000);
  });
  afterAll(async () => {
    await port?.close();
  });

  const wrongTypes: [string, (key: string) => Promise<unknown>][] = [
    ['a string', (key) => bed.raw.set(key, 'x')],
    ['a set', (key) => bed.raw.sAdd(key, 'x')],
    ['a hash', (key) => bed.raw.hSet(key, 'x', '1')],
  ];

  it.each(wrongTypes.filter(([kind]) => kind !== 'a hash'))(
    'a record key holding %s is no record, and left as it is',
    async (_, put) => {
      const key = redisKeys.session('wrong-type');
      await put(key);
      const type = await bed.raw.type(key);
      await expect(port.readSession(key, '', Date.now(), 60_000, 6_000)).resolves.toBeUndefined();
      await expect(port.getData(key)).resolves.toBeUndefined();
      await expect(port.swapSession(key, 'x', 'data')).resolves.toBeUndefined();
      await expect(port.hasRecord(key)).resolves.toBe(false);
      expect(await bed.raw.type(key)).toBe(type);
    },
  );

  it.each(wrongTypes.filter(([kind]) => kind !== 'a set'))(
    'an index key holding %s lists nothing, removes nothing, and a new entry replaces it',
    async (_, put) => {
      const key = redisKeys.byUser('wrong-type');
      await put(key);
      const type = await bed.raw.type(key);
      await expect(port.indexMembers(key)).resolves.toEqual([]);
      await port.indexRemove(key, 'x');
      expect(await bed.raw.type(key)).toBe(type);
      await port.indexAdd(key, 'member', 60_000);
      expect(await bed.raw.sMembers(key)).toEqual(['member']);
      expect(await bed.raw.pTTL(key)).toBeGreaterThan(0);
    },
  );

  it.each(
    wrongTypes
      .filter(([kind]) => kind !== 'a string')
      .concat([['a string that is no count', (key) => bed.raw.set(key, 'x')]]),
  )('a rate window holding %s starts counting again', async (_, put) => {
    const key = redisKeys.rateWindow('wrong-type');
    await put(key);
    await expect(port.countHit(key, 60_000)).resolves.toMatchObject({ count: 1 });
    await expect(port.countHit(key, 60_000)).resolves.toMatchObject({ count: 2 });
    expect(await bed.raw.pTTL(key)).toBeGreaterThan(0);
  });

  it('gives every written record a version of its own, and swaps only on the version read', async () => {
    const [a, b] = [redisKeys.session('version-a'), redisKeys.session('version-b')];
    const end = Date.now() + 60_000;
    const first = await port.createSession(a, 'data-a', end, 60_000);
    const other = await port.createSession(b, 'data-b', end, 60_000);
    expect(first).toMatch(/^[\w-]{16}$/);
    expect(other).not.toBe(first);
    const second = await port.swapSession(a, first, 'data-a2');
    expect(second).toMatch(/^[\w-]{16}$/);
    expect([first, other]).not.toContain(second);
    await expect(port.swapSession(a, first, 'data-a3')).resolves.toBeUndefined();
    await expect(port.getData(a)).resolves.toEqual({ version: second, data: 'data-a2' });
    await expect(port.readSession(a, second!, Date.now(), 60_000, 6_000)).resolves.toEqual([second]);
    await expect(port.readSession(a, first, Date.now(), 60_000, 6_000)).resolves.toEqual([second, 'data-a2']);
  });
});
