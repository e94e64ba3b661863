/**
 * What a party who can read or write Redis (a dump, a shared instance, a stolen backup) can learn
 * or do with the session store's keys: a record copied under another key opens as no session, no
 * key name tells who is signed in, and the indexes hold no entries of sessions that ended. On a
 * real `redis-server` (a free loopback port, never a mock), with the embedded IdP over real HTTP.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorOf, useRedisGateway } from '../../testing/gateway.ts';
import {
  type Bff,
  CookieJar,
  DEV_USERS,
  INSTANCE_HEADER,
  signIn,
  TEST_SESSION_SECRET,
} from '../../testing/harness.ts';
import { redisKeys } from './redis-client.ts';

const NEW_SECRET = 'rotated-session-secret-0123456789abcdef';
const [ALICE, BOB] = [DEV_USERS[0]!, DEV_USERS[1]!];

const bed = useRedisGateway();

const on = (instance: number) => ({ [INSTANCE_HEADER]: String(instance) });

const backchannelLogout = (bff: Bff, token: string) =>
  bff.fetch('/auth/backchannel-logout', {
    method: 'POST',
    body: `logout_token=${token}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

/** Overwrites record `toTag` with record `fromTag`'s fields, as anyone with write access to Redis could. */
async function copyRecord(fromTag: string, toTag: string, version?: string): Promise<void> {
  const from = redisKeys.session(fromTag);
  const to = redisKeys.session(toTag);
  const fields = await bed.raw.hGetAll(from);
  const ttlMs = await bed.raw.pTTL(from);
  await bed.raw.del(to);
  await bed.raw.hSet(to, { ...fields, ...(version === undefined ? {} : { v: version }) });
  await bed.raw.pExpire(to, ttlMs);
}

/** The index sets (`bff:u:*` or `bff:i:*`) that list the record `tag`. */
async function indexesListing(pattern: string, tag: string): Promise<string[]> {
  const found: string[] = [];
  for (const key of await bed.raw.keys(pattern)) if (await bed.raw.sIsMember(key, tag)) found.push(key);
  return found;
}

/** Lets a record idle out, as Redis does once its TTL (the idle timeout) runs out without a request. */
async function idleOut(tag: string): Promise<void> {
  await bed.raw.pExpire(redisKeys.session(tag), 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await bed.raw.exists(redisKeys.session(tag))).toBe(0);
}

/** A plain (unkeyed) SHA-256 of `value` in every encoding a key name could carry it in. */
function plainHashes(value: string): string[] {
  const digest = createHash('sha256').update(value).digest();
  const forms = [digest.toString('hex'), digest.toString('base64url'), digest.toString('base64')];
  return [...forms, ...forms.map((form) => form.slice(0, 32)), ...forms.map((form) => form.slice(0, 16))];
}

describe('a record copied over another session’s key', () => {
  it('opens as no session under that key: 401 on every instance, nothing forwarded, the owner unaffected', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
    const mallory = new CookieJar();
    const victim = new CookieJar();
    await signIn(bff, mallory, { user: BOB });
    await signIn(bff, victim, { user: ALICE });
    for (const i of [0, 1])
      expect((await bff.fetch('/auth/user', { jar: mallory, headers: on(i) })).status).toBe(200);
    const malloryTag = (await bed.sessionOf(mallory)).sid;
    const victimTag = (await bed.sessionOf(victim)).sid;
    // Sent as it is every time: a 401 deletes the cookie from the jar.
    const { cookie } = bed.g.apiHeaders(mallory);

    // A new version, so that instances which cached Mallory's own record read the copy.
    await copyRecord(victimTag, malloryTag, '7');
    for (const i of [0, 1]) {
      const user = await bff.fetch('/auth/user', { headers: { cookie: String(cookie), ...on(i) } });
      expect(user.status).toBe(401);
      expect(await user.json()).toEqual({ authenticated: false });
      const api = await bed.g.raw('/api/things', { headers: { 'x-csrf': '1', cookie, ...on(i) } });
      expect(errorOf(api)).toEqual({ status: 401, error: 'unauthenticated' });
    }
    expect(bed.g.rec.requests).toEqual([]);
    const look = bed.storeFor();
    await expect(look.store.read({ bff_session: mallory.get('bff_session')! })).resolves.toBeUndefined();
    await look.close();

    // The record as it is (same version) on an instance with nothing cached.
    await copyRecord(victimTag, malloryTag);
    const fresh = await bed.g.h.startBff(bed.redisEnv());
    expect((await fresh.fetch('/auth/user', { headers: { cookie: String(cookie) } })).status).toBe(401);

    // Ending Mallory's user's sessions never ends the session whose record was copied.
    const logout = await backchannelLogout(fresh, await bed.g.h.idp.signLogoutToken({ sub: BOB.claims.sub }));
    expect(logout.status).toBe(200);
    const owner = await fresh.fetch('/auth/user', { jar: victim });
    expect(owner.status).toBe(200);
    expect(((await owner.json()) as { user: { sub: string } }).user.sub).toBe(ALICE.claims.sub);
  });
});

describe('index and claim keys', () => {
  it('are keyed hashes: no key name carries sub, the IdP sid or a jti, plainly hashed or not', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv());
    const jar = new CookieJar();
    await signIn(bff, jar);
    const session = await bed.sessionOf(jar);
    const jti = randomUUID();
    const token = await bed.g.h.idp.signLogoutToken({ sid: 'not-this-session', jti });
    expect((await backchannelLogout(bff, token)).status).toBe(200);

    const keys = (await bed.raw.keys('*')).join('\n');
    // Not vacuous: the indexes and the claim are there.
    expect(keys).toMatch(/^bff:u:\{/m);
    expect(keys).toMatch(/^bff:i:\{/m);
    expect(keys).toMatch(/^bff:j:\{/m);
    const revealing = [session.user.sub, session.idpSid!, jti, `jti:${jti}`];
    for (const value of revealing) {
      for (const form of [value, ...plainHashes(value)]) expect(keys.includes(form), form).toBe(false);
    }
  });

  it('still find sessions indexed, and jtis claimed, before a SESSION_SECRET rotation', async () => {
    const before = await bed.g.h.startBff(bed.redisEnv());
    const [endedBySid, endedBySub, bob] = [new CookieJar(), new CookieJar(), new CookieJar()];
    await signIn(before, endedBySid);
    await signIn(before, endedBySub);
    await signIn(before, bob, { user: BOB });
    const claimedBefore = await bed.g.h.idp.signLogoutToken({ sid: 'not-this-session' });
    expect((await backchannelLogout(before, claimedBefore)).status).toBe(200);
    const idpSid = (await bed.sessionOf(endedBySid)).idpSid!;

    const after = await bed.g.h.startBff(
      bed.redisEnv({ SESSION_SECRET: `${NEW_SECRET},${TEST_SESSION_SECRET}` }),
    );
    const signedInAfter = new CookieJar();
    await signIn(after, signedInAfter);
    for (const jar of [endedBySid, endedBySub, bob, signedInAfter])
      expect((await after.fetch('/auth/user', { jar })).status).toBe(200);

    expect((await backchannelLogout(after, claimedBefore)).status).toBe(400);
    bed.g.h.idp.events.clear();
    const bySid = await backchannelLogout(after, await bed.g.h.idp.signLogoutToken({ sid: idpSid }));
    expect(bySid.status).toBe(200);
    expect((await after.fetch('/auth/user', { jar: endedBySid })).status).toBe(401);
    expect((await after.fetch('/auth/user', { jar: endedBySub })).status).toBe(200);

    const bySub = await backchannelLogout(
      after,
      await bed.g.h.idp.signLogoutToken({ sub: ALICE.claims.sub }),
    );
    expect(bySub.status).toBe(200);
    for (const jar of [endedBySub, signedInAfter])
      expect((await after.fetch('/auth/user', { jar })).status).toBe(401);
    expect((await after.fetch('/auth/user', { jar: bob })).status).toBe(200);
    expect(bed.g.h.idp.events.revokedRefreshTokenCount).toBe(3);

    // The front channel too: Bob's session, indexed under the retired-to-be secret.
    const bobSid = (await bed.sessionOf(bob, [NEW_SECRET, TEST_SESSION_SECRET])).idpSid!;
    const front = await after.fetch(
      `/auth/frontchannel-logout?${new URLSearchParams({ iss: bed.g.h.idp.issuer, sid: bobSid })}`,
    );
    expect(front.status).toBe(200);
    expect((await after.fetch('/auth/user', { jar: bob })).status).toBe(401);
  });
});

describe('index entries of sessions that idled out', () => {
  it('are gone after the user’s next login, so the sets never grow with dead sessions', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv());
    // One IdP session for every login: its index is shared by all of them, like the user's.
    const idpJar = new CookieJar();
    const idle: string[] = [];
    const idpSids = new Set<string | undefined>();
    for (let login = 0; login < 4; login++) {
      const jar = new CookieJar();
      await signIn(bff, jar, { user: BOB, idpJar });
      const session = await bed.sessionOf(jar);
      idpSids.add(session.idpSid);
      const [byUser, ...moreByUser] = await indexesListing('bff:u:*', session.sid);
      const [byIdpSession, ...moreByIdp] = await indexesListing('bff:i:*', session.sid);
      expect([moreByUser, moreByIdp]).toEqual([[], []]);
      expect(await bed.raw.sMembers(byUser!)).toEqual([session.sid]);
      expect(await bed.raw.sMembers(byIdpSession!)).toEqual([session.sid]);
      // A set lives no longer than its longest-living member can.
      for (const index of [byUser!, byIdpSession!])
        expect(await bed.raw.pTTL(index)).toBeLessThanOrEqual(session.expiresAt * 1000 - Date.now() + 1_000);
      for (const tag of idle) expect(await indexesListing('bff:[ui]:*', tag)).toEqual([]);
      await idleOut(session.sid);
      idle.push(session.sid);
    }
    expect(idpSids.size).toBe(1);
  });
});
