/**
 * "Sessions the user can see and end" end to end: `GET /auth/sessions`, `DELETE /auth/sessions/<id>`
 * and `POST /auth/sessions/end-others` on two BFF instances sharing one real redis-server, with
 * browsers as cookie jars, the embedded IdP (which records revocations) and the recording upstream.
 */

import { driveIdpLogin } from '@okta-bff/dev-idp/testing';
import type { UserSessionsBody } from '@okta-bff/oidc';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeOf,
  opened,
  startWsBff,
  startWsUpstream,
  type WsBff,
  type WsUpstream,
  wsRoutes,
} from '../proxy/websocket-testing.ts';
import { errorOf, useRedisGateway } from '../testing/gateway.ts';
import { type Bff, CookieJar, DEV_USERS, INSTANCE_HEADER, signIn } from '../testing/harness.ts';

const [ALICE, BOB] = [DEV_USERS[0]!, DEV_USERS[1]!];
const bed = useRedisGateway();
const on = (instance: number) => ({ [INSTANCE_HEADER]: String(instance) });
const CSRF = { 'x-csrf': '1' } as const;

const revoked = () => bed.g.h.idp.events.revokedRefreshTokenCount;

/** Two instances on the test's Redis, and `users.length` browsers signed in as those users. */
async function browsers(...users: (typeof DEV_USERS)[number][]): Promise<{ bff: Bff; jars: CookieJar[] }> {
  const bff = await bed.g.h.startBff(bed.redisEnv(), { instances: 2 });
  const jars: CookieJar[] = [];
  for (const user of users) {
    const jar = new CookieJar();
    await signIn(bff, jar, { user });
    jars.push(jar);
  }
  return { bff, jars };
}

async function list(bff: Bff, jar: CookieJar, instance = 0): Promise<UserSessionsBody['sessions']> {
  const res = await bff.fetch('/auth/sessions', { jar, headers: on(instance) });
  expect(res.status).toBe(200);
  return ((await res.json()) as UserSessionsBody).sessions;
}

const idOf = async (bff: Bff, jar: CookieJar) => (await list(bff, jar)).find((s) => s.current)!.id;

const end = (bff: Bff, jar: CookieJar, id: string, instance = 0, headers: Record<string, string> = CSRF) =>
  bff.fetch(`/auth/sessions/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    jar,
    headers: { ...headers, ...on(instance) },
  });

const endOthers = (bff: Bff, jar: CookieJar, instance = 0, headers: Record<string, string> = CSRF) =>
  bff.fetch('/auth/sessions/end-others', { method: 'POST', jar, headers: { ...headers, ...on(instance) } });

/** The jar's `/api` status on `instance`. */
const apiStatus = async (jar: CookieJar, instance: number) =>
  (await bed.g.raw('/api/things', { headers: bed.g.apiHeaders(jar, on(instance)) })).status;

/** Signed in on both instances (200), or refused on both (401). */
async function expectApi(jar: CookieJar, status: 200 | 401): Promise<void> {
  expect([await apiStatus(jar, 0), await apiStatus(jar, 1)]).toEqual([status, status]);
}

describe('GET /auth/sessions', () => {
  it('describes the device from the User-Agent the callback came with, never the header itself', async () => {
    const bff = await bed.g.h.startBff(bed.redisEnv());
    const jar = new CookieJar();
    const chrome =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const login = await bff.fetch('/auth/login', { jar });
    const request = await driveIdpLogin({
      authorizeUrl: new URL(login.headers.get('location') ?? ''),
      username: ALICE.login,
      password: ALICE.password,
    });
    const callback = new URL(request.url);
    const done = await bff.fetch(`${callback.pathname}${callback.search}`, {
      jar,
      headers: { 'user-agent': chrome },
    });
    expect(done.status).toBe(302);
    const [entry] = await list(bff, jar);
    expect(entry?.device).toBe('Chrome on Linux');
  });

  it('lists the user’s sessions, this browser’s marked current, with opaque ids and times', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { bff, jars } = await browsers(ALICE, ALICE, BOB);
    const [laptop, phone] = jars as [CookieJar, CookieJar];
    const res = await bff.fetch('/auth/sessions', { jar: laptop });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const fromLaptop = ((await res.json()) as UserSessionsBody).sessions;
    const fromPhone = await list(bff, phone, 1);

    expect(fromLaptop).toHaveLength(2);
    expect(fromLaptop.map((s) => s.current)).toEqual([true, false]);
    expect(fromPhone.map((s) => s.current)).toEqual([true, false]);
    // The same two ids seen from either browser and instance, each stable and distinct.
    expect(fromPhone.map((s) => s.id)).toEqual([fromLaptop[1]!.id, fromLaptop[0]!.id]);
    expect(await list(bff, laptop, 1)).toEqual(fromLaptop);
    for (const entry of fromLaptop) {
      expect(Object.keys(entry).sort()).toEqual(['createdAt', 'current', 'device', 'id', 'lastSeenAt']);
      expect(entry.id).toMatch(/^[\w-]{32}$/);
      expect(entry.createdAt).toBeGreaterThanOrEqual(before);
      expect(entry.lastSeenAt).toBeGreaterThanOrEqual(entry.createdAt);
      expect(entry.lastSeenAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      // The harness's callback sends Node's `User-Agent` ("node"), which describes no device.
      expect(entry.device).toBe('Unknown device');
    }
    // The id is neither the cookie's handle nor the record's key.
    const laptopSid = (await bed.sessionOf(laptop)).sid;
    const ids = fromLaptop.map((s) => s.id);
    expect(ids).not.toContain(laptop.get('bff_session'));
    expect(ids).not.toContain(laptopSid);
    expect(ids.some((id) => laptopSid.includes(id) || id.includes(laptopSid))).toBe(false);
  });

  it('lists live sessions only: an idled-out one is gone from the list and from the index', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE);
    const [laptop, phone] = jars as [CookieJar, CookieJar];
    const phoneTag = (await bed.sessionOf(phone)).sid;
    await bed.raw.del(`bff:s:{${phoneTag}}`);
    const listed = await list(bff, laptop);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.current).toBe(true);
    for (const key of await bed.raw.keys('bff:u:*')) expect(await bed.raw.sIsMember(key, phoneTag)).toBe(0);
  });

  it('401 unauthenticated without a session', async () => {
    const { bff } = await browsers();
    const res = await bff.fetch('/auth/sessions', { jar: new CookieJar() });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthenticated' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('DELETE /auth/sessions/<id>', () => {
  it('ends the other browser’s session: 204, refused on both instances at once, its refresh token revoked', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE);
    const [laptop, phone] = jars as [CookieJar, CookieJar];
    await expectApi(phone, 200);
    const phoneId = await idOf(bff, phone);
    const revokedBefore = revoked();

    const res = await end(bff, laptop, phoneId, 1);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(res.headers.get('cache-control')).toBe('no-store');

    await expectApi(phone, 401);
    expect(revoked()).toBe(revokedBefore + 1);
    await expectApi(laptop, 200);
    expect((await list(bff, laptop)).map((s) => s.current)).toEqual([true]);
    // Already ended: the same id again is unknown.
    expect((await end(bff, laptop, phoneId)).status).toBe(404);
  });

  it('another user’s id, an unknown id and a malformed one: 404, and nothing ends', async () => {
    const { bff, jars } = await browsers(ALICE, BOB);
    const [alice, bob] = jars as [CookieJar, CookieJar];
    const bobId = await idOf(bff, bob);
    const revokedBefore = revoked();
    for (const id of [bobId, 'A'.repeat(32), 'not an id', 'x'.repeat(500)]) {
      const res = await end(bff, alice, id);
      expect(res.status, id.slice(0, 12)).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'not_found' });
    }
    await expectApi(bob, 200);
    await expectApi(alice, 200);
    expect(revoked()).toBe(revokedBefore);
    expect(await list(bff, bob)).toHaveLength(1);
  });

  it('its own id is a logout: 204, the cookie deleted, refused everywhere, refresh token revoked', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE);
    const [laptop, phone] = jars as [CookieJar, CookieJar];
    const cookie = bed.g.apiHeaders(laptop).cookie as string;
    const revokedBefore = revoked();
    const res = await end(bff, laptop, await idOf(bff, laptop));
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie().some((c) => /^bff_session=;.*Max-Age=0/.test(c))).toBe(true);
    expect(laptop.get('bff_session')).toBeFalsy();
    for (const instance of [0, 1]) {
      const api = await bed.g.raw('/api/things', { headers: { ...CSRF, cookie, ...on(instance) } });
      expect(errorOf(api)).toEqual({ status: 401, error: 'unauthenticated' });
    }
    expect(revoked()).toBe(revokedBefore + 1);
    await expectApi(phone, 200);
  });

  it('without X-CSRF, or from another origin: 403 csrf_required, and nothing ends', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE);
    const [laptop, phone] = jars as [CookieJar, CookieJar];
    const phoneId = await idOf(bff, phone);
    for (const headers of [
      {},
      { ...CSRF, origin: 'https://evil.example' },
      { ...CSRF, 'sec-fetch-site': 'same-site' },
    ]) {
      const res = await end(bff, laptop, phoneId, 0, headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'csrf_required' });
    }
    await expectApi(phone, 200);
    expect(await list(bff, laptop)).toHaveLength(2);
  });

  it('401 without a session, and nothing ends', async () => {
    const { bff, jars } = await browsers(ALICE);
    const res = await end(bff, new CookieJar(), await idOf(bff, jars[0]!));
    expect(res.status).toBe(401);
    await expectApi(jars[0]!, 200);
  });
});

describe('POST /auth/sessions/end-others', () => {
  it('ends every other session of the user, on both instances, revoking each; this one and other users’ stay', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE, ALICE, BOB);
    const [laptop, phone, tablet, bob] = jars as [CookieJar, CookieJar, CookieJar, CookieJar];
    const revokedBefore = revoked();
    const res = await endOthers(bff, laptop, 1);
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()).toEqual([]);
    await expectApi(phone, 401);
    await expectApi(tablet, 401);
    await expectApi(laptop, 200);
    await expectApi(bob, 200);
    expect(revoked()).toBe(revokedBefore + 2);
    expect((await list(bff, laptop)).map((s) => s.current)).toEqual([true]);
    // Nothing left to end: still 204.
    expect((await endOthers(bff, laptop)).status).toBe(204);
    expect(revoked()).toBe(revokedBefore + 2);
  });

  it('without X-CSRF: 403 csrf_required, and nothing ends', async () => {
    const { bff, jars } = await browsers(ALICE, ALICE);
    const res = await endOthers(bff, jars[0]!, 0, {});
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'csrf_required' });
    await expectApi(jars[1]!, 200);
  });
});

describe('with the cookie store', () => {
  it('all three answer 501 not_supported, and nothing ends', async () => {
    const bff = await bed.g.h.startBff({ API_UPSTREAM_URL: bed.g.rec.origin });
    const jar = new CookieJar();
    await signIn(bff, jar);
    for (const res of [
      await bff.fetch('/auth/sessions', { jar }),
      await end(bff, jar, 'A'.repeat(32)),
      await endOthers(bff, jar),
    ]) {
      expect(res.status).toBe(501);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toMatchObject({ error: 'not_supported' });
    }
    expect((await bed.g.raw('/api/things', { headers: bed.g.apiHeaders(jar) })).status).toBe(200);
    // Not worth a warning: the SPA asks on every page load to know whether to offer the page.
    expect(bff.logs.join('').match(/"level":40/g) ?? []).toEqual([]);
  });
});

describe('WebSockets of an ended session', () => {
  const started: WsBff[] = [];
  let up: WsUpstream | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((b) => b.stop()));
    await up?.close();
    up = undefined;
  });

  it.each([
    ['another instance', 1],
    ['the instance that holds the socket', 0],
  ])(
    'ending it on %s closes its socket with 4401 within 2 s; the other browser’s stays open',
    async (_, by) => {
      up = await startWsUpstream();
      const env = bed.redisEnv({ API_ROUTES: wsRoutes(up.origin) });
      delete env.API_UPSTREAM_URL;
      const instances = [await startWsBff({ h: bed.g.h, env }), await startWsBff({ h: bed.g.h, env })];
      started.push(...instances);
      const [a] = instances as [WsBff, WsBff];
      const laptop = new CookieJar();
      const phone = new CookieJar();
      await signIn(a, laptop);
      await signIn(a, phone);
      const phoneSocket = opened(await a.dial('/api/live', { jar: phone }));
      const laptopSocket = opened(await a.dial('/api/live', { jar: laptop }));
      const phoneClosed = closeOf(phoneSocket);
      let laptopClosed = false;
      laptopSocket.once('close', () => {
        laptopClosed = true;
      });

      const ender = instances[by]!;
      const res = await ender.fetch('/auth/sessions/end-others', {
        method: 'POST',
        jar: laptop,
        headers: CSRF,
      });
      expect(res.status).toBe(204);
      const { code, ms } = await phoneClosed;
      expect(code).toBe(4401);
      expect(ms).toBeLessThan(2_000);
      expect(laptopClosed).toBe(false);
    },
  );
});
