/**
 * Sessions in Redis, end to end: two BFF instances on one real `redis-server` (started by the
 * test on a free loopback port, never a mock), the embedded IdP over real HTTP, a recording
 * upstream. Every refusal shows that nothing reached the upstream.
 */
import { MANY_GROUPS_USER } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import { decodeJwt, SignJWT } from 'jose';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sessionCodecFor } from '../../services.ts';
import { errorOf, type Gateway, startGateway } from '../../testing/gateway.ts';
import {
  type Bff,
  CookieJar,
  DEV_USERS,
  INSTANCE_HEADER,
  signIn,
  TEST_SESSION_SECRET,
} from '../../testing/harness.ts';
import {
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from '../../testing/redis-server.ts';
import type { Session } from '../model/session.ts';
import { COOKIE_PURPOSE } from '../store/cookies.ts';
import { connectRedis, redisKeys } from './redis-client.ts';
import { createRedisStore } from './redis-store.ts';

let g: Gateway;
let redis: RedisServer;

beforeAll(async () => {
  [g, redis] = await Promise.all([startGateway(), startRedisServer()]);
});
afterEach(() => {
  g.rec.requests.length = 0;
});
afterAll(async () => {
  await g?.close();
  await redis?.close();
});

const on = (instance: number) => ({ [INSTANCE_HEADER]: String(instance) });
const redisEnv = () => ({ SESSION_STORE: 'redis', REDIS_URL: redis.url, API_UPSTREAM_URL: g.rec.origin });

/** Two instances on one Redis, and a browser signed in through them. */
async function twoInstances(env: Record<string, string> = {}, user = DEV_USERS[0]) {
  const bff = await g.h.startBff({ ...redisEnv(), ...env }, { instances: 2 });
  const jar = new CookieJar();
  await signIn(bff, jar, { user });
  return { bff, jar };
}

/** The store as a third party sees Redis: to read and rewrite a session the way only the BFF could. */
function inspector(idleTimeoutS = 7200, url = redis.url, cluster = false) {
  const port = connectRedis({ url, cluster, onError: () => {} });
  const store = createRedisStore({
    redis: port,
    codec: sessionCodecFor([TEST_SESSION_SECRET], COOKIE_PURPOSE.redisRecord),
    names: { session: 'bff_session', txnPrefix: 'bff_txn.', secure: false },
    secrets: [TEST_SESSION_SECRET],
    idleTimeoutS,
    lockTtlMs: 5_000,
    refresh: async () => ({ ok: false, failure: 'refused', cause: 'unused' }),
  });
  return {
    async session(jar: CookieJar): Promise<Session> {
      await waitUntil(() => port.isReady());
      const opened = await store.read({ bff_session: jar.get('bff_session') ?? '' });
      if (!opened) throw new Error('no session in Redis for this jar');
      return opened.session;
    },
    async expire(jar: CookieJar): Promise<Session> {
      const session = await this.session(jar);
      const expired = { ...session, accessTokenExpiresAt: Math.floor(Date.now() / 1000) - 10 };
      await store.write(expired, {});
      return expired;
    },
    close: () => store.close(),
  };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every key and value in Redis, as text. */
async function dumpRedis(): Promise<string> {
  const client = createClient({ url: redis.url });
  await client.connect();
  const out: string[] = [];
  for (const key of await client.keys('*')) {
    const type = await client.type(key);
    const value =
      type === 'hash'
        ? await client.hGetAll(key)
        : type === 'set'
          ? await client.sMembers(key)
          : await client.get(key);
    out.push(`${key} ${JSON.stringify(value)}`);
  }
  await client.close();
  return out.join('\n');
}

describe('two instances on one Redis', () => {
  it('share the session; 20 parallel calls with an expired token across both cause exactly one refresh', async () => {
    const { bff, jar } = await twoInstances();
    expect((await bff.fetch('/auth/user', { jar, headers: on(0) })).status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar, headers: on(1) })).status).toBe(200);
    const cookieBefore = jar.get('bff_session');

    const look = inspector();
    const before = await look.expire(jar);
    g.h.idp.events.clear();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => g.raw('/api/things', { headers: g.apiHeaders(jar, on(i % 2)) })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(g.h.idp.events.tokenGrants.filter((t) => t.grantType === 'refresh_token')).toHaveLength(1);
    const after = await look.session(jar);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(g.rec.requests).toHaveLength(20);
    for (const r of g.rec.requests) expect(r.headers.authorization).toBe(`Bearer ${after.accessToken}`);
    // A refresh changes Redis, not the cookie.
    for (const a of answers) expect(a.headers['set-cookie']).toBeUndefined();
    expect(jar.get('bff_session')).toBe(cookieBefore);
    await look.close();
  });

  it('logout on one instance is refused by the other at once; nothing forwarded', async () => {
    const { jar } = await twoInstances();
    const cookie = g.apiHeaders(jar).cookie;
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar, on(1)) })).status).toBe(200);
    const logout = await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar, on(0)) });
    expect(logout.status).toBe(200);
    g.rec.requests.length = 0;
    // The old cookie, replayed on the other instance (which had it cached a moment ago).
    const replay = await g.raw('/api/things', { headers: { 'x-csrf': '1', cookie, ...on(1) } });
    expect(errorOf(replay)).toEqual({ status: 401, error: 'unauthenticated' });
    expect(g.rec.requests).toEqual([]);
  });

  it('keeps the cookie a small opaque handle, new at every login, even for a user in 300 groups', async () => {
    const { bff, jar } = await twoInstances(
      { OKTA_SCOPES: 'openid profile email offline_access groups' },
      MANY_GROUPS_USER,
    );
    const header = jar.header(g.h.origin);
    expect(header.length).toBeLessThan(200);
    expect(jar.get('bff_session')).toMatch(/^[\w-]{43}$/);
    const user = (await (await bff.fetch('/auth/user', { jar })).json()) as { user: { groups: string[] } };
    expect(user.user.groups).toHaveLength(300);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const look = inspector();
    await look.expire(jar);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const first = jar.get('bff_session');
    await signIn(bff, jar, { user: MANY_GROUPS_USER });
    expect(jar.get('bff_session')).not.toBe(first);
    await look.close();
  });

  it('stores no token, client secret, cookie handle or code verifier in Redis', async () => {
    const { bff, jar } = await twoInstances();
    const look = inspector();
    await look.expire(jar);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
    const session = await look.session(jar);
    const login = await bff.fetch('/auth/login', { jar });
    const verifierless = new URL(login.headers.get('location') ?? '');
    const dump = await dumpRedis();
    expect(dump).toContain('bff:s:{');
    for (const secret of [
      session.accessToken,
      session.refreshToken!,
      session.idToken!,
      session.accessToken.split('.')[2]!,
      DEV_IDP.clientSecret,
      jar.get('bff_session')!,
      verifierless.searchParams.get('state')!,
      TEST_SESSION_SECRET,
    ]) {
      expect(dump.includes(secret), secret.slice(0, 12)).toBe(false);
    }
    await look.close();
  });

  it('a session outlives a restart of the BFF', async () => {
    const { jar } = await twoInstances();
    await g.h.startBff(redisEnv());
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
  });
});

describe('Redis down, then back', () => {
  it('answers 503 session_store_unavailable and /readyz 503 without crashing, and resumes by itself', async () => {
    const { bff, jar } = await twoInstances();
    expect((await bff.fetch('/readyz')).status).toBe(200);
    await redis.stop();
    try {
      const down = await g.raw('/api/things', { headers: g.apiHeaders(jar) });
      expect(errorOf(down)).toEqual({ status: 503, error: 'session_store_unavailable' });
      expect(g.rec.requests).toEqual([]);
      const user = await bff.fetch('/auth/user', { jar });
      expect(user.status).toBe(503);
      expect(((await user.json()) as { error: string }).error).toBe('session_store_unavailable');
      const ready = await bff.fetch('/readyz');
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: string }).error).toBe('session_store_unavailable');
      expect((await bff.fetch('/healthz')).status).toBe(200);
    } finally {
      await redis.start();
    }
    // Redis keeps nothing on restart here (no persistence): service resumes, the session is gone.
    await waitUntil(async () => (await bff.fetch('/readyz')).status === 200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
    await signIn(bff, jar);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
  });
});

describe('idle timeout in Redis', () => {
  it('activity slides the key’s TTL; silence lets it expire', async () => {
    const { jar } = await twoInstances({ SESSION_IDLE_TIMEOUT_S: '60' });
    const client = createClient({ url: redis.url });
    await client.connect();
    const look = inspector(60);
    const key = redisKeys.session((await look.session(jar)).sid);
    expect(await client.pTTL(key)).toBeLessThanOrEqual(60_000);
    // As if 30 s had passed without a request; then one request slides it back to the full 60 s.
    await client.pExpire(key, 30_000);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar) })).status).toBe(200);
    expect(await client.pTTL(key)).toBeGreaterThan(55_000);
    // Silence for the whole idle time: the key is gone, and so is the session.
    await client.pExpire(key, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(errorOf(await g.raw('/api/things', { headers: g.apiHeaders(jar) }))).toEqual({
      status: 401,
      error: 'unauthenticated',
    });
    await client.close();
    await look.close();
  });
});

describe('back-channel logout (Redis store)', () => {
  const post = (bff: Bff, body: string, instance = 0) =>
    bff.fetch('/auth/backchannel-logout', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...on(instance) },
    });
  const idpSidOf = async (jar: CookieJar) => {
    const look = inspector();
    const s = await look.session(jar);
    await look.close();
    return s.idpSid!;
  };

  it('a token for one sid ends exactly that session, on both instances, and revokes its refresh token', async () => {
    const bff = await g.h.startBff(redisEnv(), { instances: 2 });
    const alice1 = new CookieJar();
    const alice2 = new CookieJar();
    await signIn(bff, alice1);
    await signIn(bff, alice2);
    const sid = await idpSidOf(alice1);
    expect(sid).toBeTruthy();
    expect(await idpSidOf(alice2)).not.toBe(sid);
    g.h.idp.events.clear();
    const res = await post(
      bff,
      `logout_token=${await g.h.idp.signLogoutToken({ sid, sub: DEV_USERS[0]!.claims.sub })}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    for (const i of [0, 1]) {
      expect((await bff.fetch('/auth/user', { jar: alice1, headers: on(i) })).status).toBe(401);
      expect((await bff.fetch('/auth/user', { jar: alice2, headers: on(i) })).status).toBe(200);
    }
    expect(g.h.idp.events.revokedRefreshTokenCount).toBe(1);
  });

  it('a token with only sub ends every session of that user, and only theirs', async () => {
    const bff = await g.h.startBff(redisEnv(), { instances: 2 });
    const [a1, a2, b] = [new CookieJar(), new CookieJar(), new CookieJar()];
    await signIn(bff, a1);
    await signIn(bff, a2);
    await signIn(bff, b, { user: DEV_USERS[1] });
    const res = await post(
      bff,
      `logout_token=${await g.h.idp.signLogoutToken({ sub: DEV_USERS[0]!.claims.sub })}`,
      1,
    );
    expect(res.status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar: a1 })).status).toBe(401);
    expect((await bff.fetch('/auth/user', { jar: a2 })).status).toBe(401);
    expect((await bff.fetch('/auth/user', { jar: b })).status).toBe(200);
  });

  it('refuses a replayed jti with 400, ending nothing the second time', async () => {
    const bff = await g.h.startBff(redisEnv(), { instances: 2 });
    const jar = new CookieJar();
    await signIn(bff, jar);
    const token = await g.h.idp.signLogoutToken({ sid: 'not-this-session' });
    expect((await post(bff, `logout_token=${token}`, 0)).status).toBe(200);
    const replay = await post(bff, `logout_token=${token}`, 1);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('bad_request');
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it.each<[string, (sid: string) => Promise<string>]>([
    ['a wrong iss', (sid) => g.h.idp.signLogoutToken({ sid, iss: 'https://evil.example/oauth2/default' })],
    ['a wrong aud', (sid) => g.h.idp.signLogoutToken({ sid, aud: 'another-client' })],
    ['no events', (sid) => g.h.idp.signLogoutToken({ sid, events: undefined })],
    [
      'events without the back-channel member',
      (sid) => g.h.idp.signLogoutToken({ sid, events: { 'urn:other': {} } }),
    ],
    ['a nonce (an ID token)', (sid) => g.h.idp.signLogoutToken({ sid, nonce: 'n' })],
    ['neither sid nor sub', () => g.h.idp.signLogoutToken({})],
    ['no jti', (sid) => g.h.idp.signLogoutToken({ sid, jti: undefined })],
    ['no iat', (sid) => g.h.idp.signLogoutToken({ sid, iat: undefined })],
    [
      'an iat in the future',
      (sid) => g.h.idp.signLogoutToken({ sid, iat: Math.floor(Date.now() / 1000) + 3600 }),
    ],
    [
      'an old iat',
      (sid) =>
        g.h.idp.signLogoutToken({
          sid,
          iat: Math.floor(Date.now() / 1000) - 3600,
          exp: Math.floor(Date.now() / 1000) + 60,
        }),
    ],
    ['an expired exp', (sid) => g.h.idp.signLogoutToken({ sid, exp: Math.floor(Date.now() / 1000) - 120 })],
    ['typ at+jwt (an access token)', (sid) => g.h.idp.signLogoutToken({ sid }, { typ: 'at+jwt' })],
    ['typ dpop+jwt', (sid) => g.h.idp.signLogoutToken({ sid }, { typ: 'dpop+jwt' })],
    [
      'alg none',
      async (sid) => {
        const good = decodeJwt(await g.h.idp.signLogoutToken({ sid }));
        const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'logout+jwt' })}.${enc(good)}.`;
      },
    ],
    [
      'HS256 keyed with the client secret (algorithm confusion)',
      async (sid) =>
        new SignJWT(decodeJwt(await g.h.idp.signLogoutToken({ sid })))
          .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
          .sign(new TextEncoder().encode(DEV_IDP.clientSecret)),
    ],
    [
      'a tampered payload',
      async (sid) => {
        const [h, , s] = (await g.h.idp.signLogoutToken({ sid: 'other' })).split('.');
        const forged = Buffer.from(
          JSON.stringify(decodeJwt(await g.h.idp.signLogoutToken({ sid }))),
        ).toString('base64url');
        return `${h}.${forged}.${s}`;
      },
    ],
  ])('refuses a logout token with %s: 400, nothing ended', async (_, forge) => {
    const bff = await g.h.startBff(redisEnv());
    const jar = new CookieJar();
    await signIn(bff, jar);
    const sid = await idpSidOf(jar);
    const res = await post(bff, `logout_token=${await forge(sid)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(((await res.json()) as { error: string }).error).toBe('bad_request');
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
    // The same session does end with a valid token (control).
    expect((await post(bff, `logout_token=${await g.h.idp.signLogoutToken({ sid })}`)).status).toBe(200);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);
  });

  it('refuses a body that is not a logout form', async () => {
    const bff = await g.h.startBff(redisEnv());
    expect((await post(bff, '')).status).toBe(400);
    const json = await bff.fetch('/auth/backchannel-logout', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(400);
  });
});

describe('front-channel logout (Redis store)', () => {
  it('the right iss and sid end that session; anything else ends nothing; framable by the issuer only', async () => {
    const bff = await g.h.startBff(redisEnv(), { instances: 2 });
    const jar = new CookieJar();
    await signIn(bff, jar);
    const look = inspector();
    const sid = (await look.session(jar)).idpSid!;
    await look.close();
    const front = (query: Record<string, string>) =>
      bff.fetch(`/auth/frontchannel-logout?${new URLSearchParams(query)}`, { headers: on(1) });
    const others: Record<string, string>[] = [
      { iss: 'https://evil.example', sid },
      { sid },
      { iss: g.h.idp.issuer },
      { iss: g.h.idp.issuer, sid: 'other' },
    ];
    for (const query of others) {
      const res = await front(query);
      expect(res.status).toBe(200);
      expect((await bff.fetch('/auth/user', { jar, headers: on(0) })).status).toBe(200);
    }
    const res = await front({ iss: g.h.idp.issuer, sid });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain(
      `frame-ancestors ${new URL(g.h.idp.issuer).origin}`,
    );
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect((await bff.fetch('/auth/user', { jar, headers: on(0) })).status).toBe(401);
  });
});

describe('signing out through the dev IdP notifies the BFF on both channels', () => {
  it('RP-initiated logout at the IdP ends the session through back-channel logout', async () => {
    const bff = await g.h.startBff(redisEnv(), { instances: 2 });
    const jar = new CookieJar();
    const other = new CookieJar();
    const idpJar = new CookieJar();
    await signIn(bff, jar, { idpJar });
    await signIn(bff, other);
    const cookie = g.apiHeaders(jar).cookie;
    g.h.idp.events.clear();
    // Ends the IdP session without the BFF's /auth/logout: the IdP tells the BFF itself.
    const look = inspector();
    const session = await look.session(jar);
    await look.close();
    const end = new URL(`${g.h.idp.issuer}/v1/logout`);
    end.searchParams.set('id_token_hint', session.idToken!);
    end.searchParams.set('post_logout_redirect_uri', `${g.h.origin}/`);
    const { driveIdpLogout } = await import('@okta-bff/dev-idp/testing');
    await driveIdpLogout({ logoutUrl: end.href, jar: idpJar, loadFrames: false });
    await waitUntil(() => g.h.idp.events.backchannelLogouts.length > 0);
    expect(g.h.idp.events.backchannelLogouts[0]).toMatchObject({ ok: true });
    expect((await g.raw('/api/things', { headers: { 'x-csrf': '1', cookie } })).status).toBe(401);
    expect((await bff.fetch('/auth/user', { jar: other })).status).toBe(200);
  });
});

describe('a three-node Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('carries login → /api → refresh → logout', async () => {
    const env = {
      SESSION_STORE: 'redis',
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      API_UPSTREAM_URL: g.rec.origin,
    };
    const bff = await g.h.startBff(env, { instances: 2 });
    await waitUntil(async () => (await bff.fetch('/readyz')).status === 200);
    const jar = new CookieJar();
    await signIn(bff, jar);
    expect((await g.raw('/api/things', { headers: g.apiHeaders(jar, on(0)) })).status).toBe(200);

    // Expire the access token through a cluster client, as the BFF itself would write it.
    const look = inspector(7200, cluster.url, true);
    await look.expire(jar);
    g.h.idp.events.clear();
    const refreshed = await Promise.all(
      [0, 1, 0, 1].map((i) => g.raw('/api/things', { headers: g.apiHeaders(jar, on(i)) })),
    );
    expect(refreshed.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(g.h.idp.events.tokenGrants.filter((t) => t.grantType === 'refresh_token')).toHaveLength(1);

    expect((await g.raw('/auth/logout', { method: 'POST', headers: g.apiHeaders(jar, on(1)) })).status).toBe(
      200,
    );
    expect((await bff.fetch('/auth/user', { jar, headers: on(0) })).status).toBe(401);
    await look.close();
  });
});
