import { describe, expect, it } from 'vitest';
import type { Session } from '../model/session.ts';
import type { SessionCodec } from '../model/session-codec.ts';
import type { RefreshCoordinator } from '../refresh/refresh.ts';
import { type CookieStoreOptions, createCookieStore } from './cookie-store.ts';
import { cookieNames } from './cookies.ts';

const NOW = 1_000_000;
const names = cookieNames(false);
const noRefresh: RefreshCoordinator = {
  ensureFresh: async (session) => ({ kind: 'fresh', session, changed: false }),
};

/** A codec that counts how often it really opens a value ("sealed" is the session id in clear). */
function countingCodec(sessions: Record<string, Session>) {
  let opened = 0;
  const codec: SessionCodec = {
    sealSession: async (s) => s.sid,
    unsealSession: async (value) => {
      opened++;
      return sessions[value];
    },
  };
  return { codec, opened: () => opened };
}

const store = (codec: SessionCodec, now: () => number, more: Partial<CookieStoreOptions> = {}) =>
  createCookieStore({
    codec,
    names,
    idleTimeoutS: 7200,
    maxAgeS: 28_800,
    refresher: noRefresh,
    nowS: now,
    ...more,
  });

const session = (sid: string, more: Partial<Session> = {}): Session => ({
  sid,
  idpSid: undefined,
  user: { sub: 'u' },
  accessToken: 'at',
  accessTokenExpiresAt: NOW + 3600,
  refreshToken: undefined,
  idToken: undefined,
  scope: undefined,
  createdAt: NOW - 10,
  lastSeenAt: NOW,
  expiresAt: NOW + 3600,
  ...more,
});

describe('cookie store cache', () => {
  it('opens a byte-identical cookie once, and holds at most `cacheEntries` sessions, oldest out first', async () => {
    const all = Object.fromEntries(['a', 'b', 'c'].map((sid) => [sid, session(sid)]));
    const c = countingCodec(all);
    const s = store(c.codec, () => NOW, { cacheEntries: 2 });
    for (let i = 0; i < 3; i++)
      expect((await s.read({ bff_session: 'a' }))?.session).toMatchObject({ sid: 'a' });
    expect(c.opened()).toBe(1);
    await s.read({ bff_session: 'b' });
    await s.read({ bff_session: 'c' });
    expect(s.cacheSize()).toBe(2);
    await s.read({ bff_session: 'a' }); // evicted: opened again
    expect(c.opened()).toBe(4);
    await s.read({ bff_session: 'c' }); // still cached
    expect(c.opened()).toBe(4);
  });

  it('never returns a cached session past its end, and forgets it', async () => {
    let now = NOW;
    const s = store(countingCodec({ a: session('a', { expiresAt: NOW + 10 }) }).codec, () => now);
    expect(await s.read({ bff_session: 'a' })).toBeDefined();
    now = NOW + 10;
    expect(await s.read({ bff_session: 'a' })).toBeUndefined();
    expect(s.cacheSize()).toBe(0);
  });
});

describe('cookie store idle timeout', () => {
  it('ends a session left unused for the idle timeout, and renews the clock of one in use', async () => {
    let now = NOW;
    const all: Record<string, Session> = { a: session('a'), b: session('b') };
    const codec: SessionCodec = {
      sealSession: async (x) => {
        all[`${x.sid}@${x.lastSeenAt}`] = x;
        return `${x.sid}@${x.lastSeenAt}`;
      },
      unsealSession: async (value) => all[value],
    };
    const s = store(codec, () => now, { idleTimeoutS: 600 });
    // Within the renewal step: no new cookie.
    now = NOW + 30;
    expect(await s.read({ bff_session: 'a' })).toMatchObject({ cookies: [] });
    // Used again after 50 s (past the renewal step, 600 / 12): a renewed cookie.
    now = NOW + 50;
    const renewed = await s.read({ bff_session: 'a' });
    expect(renewed?.session.lastSeenAt).toBe(NOW + 50);
    expect(renewed?.cookies).toEqual([
      { name: 'bff_session', value: `a@${NOW + 50}`, maxAgeS: 3550, sameSite: 'Lax', secure: false },
    ]);
    // The old cookie, sent again right after (a request in flight, a client ignoring Set-Cookie):
    // the renewal is not sealed again.
    expect(await s.read({ bff_session: 'a' })).toMatchObject({ cookies: [] });
    // Activity kept `a` alive past the idle limit counted from sign-in; `b` was silent.
    now = NOW + 620;
    expect(await s.read({ bff_session: `a@${NOW + 50}` })).toBeDefined();
    expect(await s.read({ bff_session: 'b' })).toBeUndefined();
    // Its last use was at NOW + 620: silence for the whole idle time after that ends it.
    now = NOW + 620 + 600;
    expect(await s.read({ bff_session: `a@${NOW + 50}` })).toBeUndefined();
    expect(await s.read({ bff_session: `a@${NOW + 620}` })).toBeUndefined();
  });
});

describe('cookie store: ended sessions', () => {
  it('refuses a session this instance ended until it would have expired', async () => {
    const all = { a: session('a'), b: session('b') };
    const s = store(countingCodec(all).codec, () => NOW);
    const cleared = await s.end(all.a, { bff_session: 'a' });
    expect(cleared).toEqual([{ name: 'bff_session', value: '', maxAgeS: 0, sameSite: 'Lax', secure: false }]);
    expect(await s.read({ bff_session: 'a' })).toBeUndefined();
    expect(await s.read({ bff_session: 'b' })).toBeDefined();
  });

  it('ends by IdP session id, or every session of a user begun before the logout; a later login works', async () => {
    let now = NOW;
    const all = {
      x: session('x', { idpSid: 'idp-1' }),
      y: session('y', { idpSid: 'idp-2' }),
      z: session('z', { idpSid: 'idp-3', user: { sub: 'other' } }),
      later: session('later', { idpSid: 'idp-4', createdAt: NOW + 5 }),
    };
    const s = store(countingCodec(all).codec, () => now);
    for (const k of Object.keys(all)) await s.read({ bff_session: k });
    await s.endMatching({ idpSid: 'idp-1', beforeS: now });
    expect(await s.read({ bff_session: 'x' })).toBeUndefined();
    expect(await s.read({ bff_session: 'y' })).toBeDefined();
    await s.endMatching({ sub: 'u', beforeS: now });
    expect(await s.read({ bff_session: 'y' })).toBeUndefined();
    expect(await s.read({ bff_session: 'z' })).toBeDefined();
    now = NOW + 10;
    expect(await s.read({ bff_session: 'later' })).toBeDefined();
  });

  it('records a logout token id once, in bounded memory', async () => {
    const s = store(countingCodec({}).codec, () => NOW, { endedEntries: 2 });
    expect(await s.claimOnce('j1', NOW + 60)).toBe(true);
    expect(await s.claimOnce('j1', NOW + 60)).toBe(false);
    await s.claimOnce('j2', NOW + 60);
    await s.claimOnce('j3', NOW + 60);
    expect(await s.claimOnce('j1', NOW + 60)).toBe(true); // pushed out by the bound
  });
});

describe('sessions ended by the front channel (anyone can name a sid)', () => {
  const flood = async (s: ReturnType<typeof store>, t: number, count: number) => {
    let refused = 0;
    for (let i = 0; i < count; i++) {
      await s
        .endMatching({ idpSid: `forged-${i}-${'x'.repeat(200)}`, beforeS: t })
        .catch((error: unknown) => {
          expect(error).toMatchObject({ code: 'service_unavailable', status: 503 });
          refused++;
        });
    }
    return refused;
  };

  it('a flood of forged sids never pushes out a real logout before it expires; the flood is refused instead', async () => {
    let t = NOW;
    const real = session('a', { idpSid: 'real-idp-session' });
    const s = store(countingCodec({ a: real }).codec, () => t, { endedEntries: 10 });
    await s.endMatching({ idpSid: 'real-idp-session', beforeS: t });
    expect(await flood(s, t, 100)).toBe(91);
    expect(await s.read({ bff_session: 'a' })).toBeUndefined();
    // Once the entries have outlived any session they could end, there is room again.
    t += 28_800 + 1;
    await s.endMatching({ idpSid: 'later', beforeS: t });
  });

  it('after a flood has filled the room for strangers’ sids, a real logout of a session served here still ends it', async () => {
    const real = session('a', { idpSid: 'real-idp-session' });
    const other = session('b', { idpSid: 'another-real-session' });
    const s = store(countingCodec({ a: real, b: other }).codec, () => NOW, { endedEntries: 10 });
    expect((await s.read({ bff_session: 'a' }))?.session.sid).toBe('a');
    expect(await flood(s, NOW, 50)).toBe(40);
    await s.endMatching({ idpSid: 'real-idp-session', beforeS: NOW });
    expect(await s.read({ bff_session: 'a' })).toBeUndefined();
    expect((await s.read({ bff_session: 'b' }))?.session.sid).toBe('b');
  });
});

describe('cookie store liveness (WebSockets) and end notices', () => {
  it('a session is live until ended here, idle since its last renewal seen here, or past its end', async () => {
    let now = NOW;
    const a = session('a', { idpSid: 'idp-a', expiresAt: NOW + 20_000 });
    const b = session('b', { user: { sub: 'other' } });
    const s = store(countingCodec({ a, b }).codec, () => now);
    const notices: (readonly string[] | undefined)[] = [];
    s.onSessionsEnded(({ sids }) => notices.push(sids));
    expect(await s.liveSessions([a, b])).toEqual([true, true]);

    // The SPA's requests renew the cookie's idle clock on this instance: the socket's copy of the
    // session (from its handshake) stays live past its own lastSeenAt + idle.
    now = NOW + 7000;
    await s.read({ bff_session: 'a' });
    now = NOW + 7300;
    expect(await s.liveSessions([a, b])).toEqual([true, false]);
    // Looking is not activity: nothing renews the clock but requests.
    now = NOW + 7000 + 7200;
    expect(await s.liveSessions([a])).toEqual([false]);

    now = NOW + 100;
    await s.endMatching({ idpSid: 'idp-a', beforeS: now });
    expect(notices).toEqual([undefined]);
    expect(await s.liveSessions([a])).toEqual([false]);
    await s.end(b, {});
    expect(notices).toEqual([undefined, ['b']]);
    expect(await s.liveSessions([session('c', { expiresAt: NOW + 50 })])).toEqual([false]);
  });
});

describe('cookie store: the user’s list of sessions', () => {
  it('cannot list or end a user’s sessions: not_supported (501), and nothing ends', async () => {
    const a = session('a');
    const s = store(countingCodec({ a }).codec, () => NOW);
    const notices: unknown[] = [];
    s.onSessionsEnded((ended) => notices.push(ended.sids));
    for (const call of [() => s.listOfUser(a), () => s.endById(a, 'x'.repeat(32)), () => s.endOthers(a)]) {
      await expect(call()).rejects.toMatchObject({ name: 'ApiError', code: 'not_supported', status: 501 });
    }
    expect(notices).toEqual([]);
    expect(await s.read({ bff_session: 'a' })).toBeDefined();
  });

  it('takes the sign-in’s origin and keeps nothing of it (the cookie is the session alone)', async () => {
    const sealed: Session[] = [];
    const codec: SessionCodec = {
      sealSession: async (s) => {
        sealed.push(s);
        return s.sid;
      },
      unsealSession: async () => undefined,
    };
    const { sid: _sid, ...fields } = session('ignored');
    await store(codec, () => NOW).create(
      fields,
      {},
      { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0' },
    );
    expect(JSON.stringify(sealed)).not.toMatch(/Mozilla|Firefox|Linux/);
  });
});
