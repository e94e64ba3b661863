import { describe, expect, it } from 'vitest';
import { createCookieStore } from './cookie-store.ts';
import { cookieNames } from './cookies.ts';
import type { Session, SessionCodec } from './session.ts';

const NOW = 1_000_000;
const names = cookieNames(false);

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

const session = (sid: string, expiresAt = NOW + 3600): Session => ({
  sid,
  idpSid: undefined,
  user: { sub: 'u' },
  accessToken: 'at',
  accessTokenExpiresAt: expiresAt,
  refreshToken: undefined,
  idToken: undefined,
  scope: undefined,
  expiresAt,
});

describe('cookie store cache', () => {
  it('opens a byte-identical cookie once, and holds at most `cacheEntries` sessions, oldest out first', async () => {
    const all = Object.fromEntries(['a', 'b', 'c'].map((sid) => [sid, session(sid)]));
    const c = countingCodec(all);
    const store = createCookieStore({ codec: c.codec, names, cacheEntries: 2, now: () => NOW });
    for (let i = 0; i < 3; i++) expect(await store.read({ bff_session: 'a' })).toMatchObject({ sid: 'a' });
    expect(c.opened()).toBe(1);
    await store.read({ bff_session: 'b' });
    await store.read({ bff_session: 'c' });
    expect(store.cacheSize()).toBe(2);
    await store.read({ bff_session: 'a' }); // evicted: opened again
    expect(c.opened()).toBe(4);
    await store.read({ bff_session: 'c' }); // still cached
    expect(c.opened()).toBe(4);
  });

  it('never returns a cached session past its end, and forgets it', async () => {
    let now = NOW;
    const c = countingCodec({ a: session('a', NOW + 10) });
    const store = createCookieStore({ codec: c.codec, names, now: () => now });
    expect(await store.read({ bff_session: 'a' })).toBeDefined();
    now = NOW + 10;
    expect(await store.read({ bff_session: 'a' })).toBeUndefined();
    expect(store.cacheSize()).toBe(0);
  });

  it('refuses a session this instance ended until it would have expired, within a bounded memory', async () => {
    let now = NOW;
    const all = { a: session('a', NOW + 100), b: session('b'), c: session('c') };
    const store = createCookieStore({
      codec: countingCodec(all).codec,
      names,
      endedEntries: 2,
      now: () => now,
    });
    const cleared = await store.end(all.a, { bff_session: 'a' });
    expect(cleared).toEqual([{ name: 'bff_session', value: '', maxAgeS: 0, sameSite: 'Lax', secure: false }]);
    expect(await store.read({ bff_session: 'a' })).toBeUndefined();
    expect(await store.read({ bff_session: 'b' })).toBeDefined();
    await store.end(all.b, {});
    await store.end(all.c, {}); // the bound pushes out the oldest ended (a)
    expect(await store.read({ bff_session: 'b' })).toBeUndefined();
    now = NOW + 101;
    expect(await store.read({ bff_session: 'a' })).toBeUndefined(); // expired by then anyway
  });

  it('writes the session into its cookie with the remaining lifetime as Max-Age', async () => {
    const store = createCookieStore({ codec: countingCodec({}).codec, names, now: () => NOW });
    expect(await store.write(session('z', NOW + 50), { 'bff_session.0': 'x', 'bff_session.1': 'y' })).toEqual(
      [
        { name: 'bff_session', value: 'z', maxAgeS: 50, sameSite: 'Lax', secure: false },
        { name: 'bff_session.0', value: '', maxAgeS: 0, sameSite: 'Lax', secure: false },
        { name: 'bff_session.1', value: '', maxAgeS: 0, sameSite: 'Lax', secure: false },
      ],
    );
  });
});
