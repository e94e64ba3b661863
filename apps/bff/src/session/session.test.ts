import { describe, expect, it } from 'vitest';
import {
  COOKIE_CHUNK_CHARS,
  cookieNames,
  readChunkedCookie,
  serializeCookie,
  writeChunkedCookie,
} from './cookies.ts';
import { createSessionCodec, type Session } from './session.ts';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);
const now = () => Math.floor(Date.now() / 1000);

/** A JWT-shaped string of about `bytes` characters, like Okta's. */
function fakeJwt(bytes: number, seed: string): string {
  return `eyJ${seed}.${'a'.repeat(bytes - 200)}.${'s'.repeat(190)}`;
}

function session(overrides: Partial<Session> = {}): Session {
  return {
    sid: 'sid-1',
    user: { sub: '00u1', name: 'Alice', email: 'alice@example.com' },
    accessToken: fakeJwt(1000, 'at'),
    accessTokenExpiresAt: now() + 3600,
    refreshToken: 'rt-opaque-value',
    idToken: fakeJwt(1000, 'id'),
    scope: 'openid profile',
    expiresAt: now() + 3600,
    ...overrides,
  };
}

describe('session codec', () => {
  it('round-trips a session and never shows the tokens in the sealed value', async () => {
    const codec = createSessionCodec([NEW]);
    const s = session();
    const sealed = await codec.sealSession(s);
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed).not.toContain('rt-opaque-value');
    expect(await codec.unsealSession(sealed)).toEqual(s);
  });

  it.each([
    ['tampered', (v: string) => `${v.slice(0, -5)}${v.slice(-5) === 'AAAAA' ? 'BBBBB' : 'AAAAA'}`],
    ['truncated', (v: string) => v.slice(0, v.length / 2)],
    ['garbage', () => 'not-a-jwe'],
    ['empty parts', () => '....'],
    ['alg none JWT', () => 'eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.'],
  ])('treats a %s value as no session', async (_, mutate) => {
    const codec = createSessionCodec([NEW]);
    expect(await codec.unsealSession(mutate(await codec.sealSession(session())))).toBeUndefined();
  });

  it('opens cookies sealed under a retired key while sealing with the new one', async () => {
    const before = createSessionCodec([OLD]);
    const rotated = createSessionCodec([NEW, OLD]);
    const afterRetirement = createSessionCodec([NEW]);
    const oldCookie = await before.sealSession(session());
    expect(await rotated.unsealSession(oldCookie)).toMatchObject({ sid: 'sid-1' });
    expect(await afterRetirement.unsealSession(oldCookie)).toBeUndefined();
    const newCookie = await rotated.sealSession(session());
    expect(await afterRetirement.unsealSession(newCookie)).toMatchObject({ sid: 'sid-1' });
    expect(await before.unsealSession(newCookie)).toBeUndefined();
  });

  it('refuses an expired session and a transaction sealed as a session', async () => {
    const codec = createSessionCodec([NEW]);
    expect(
      await codec.unsealSession(await codec.sealSession(session({ expiresAt: now() - 10 }))),
    ).toBeUndefined();
    const txn = await codec.sealTransaction(
      { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/' },
      now() + 60,
    );
    expect(await codec.unsealSession(txn)).toBeUndefined();
    expect(await codec.unsealTransaction(txn)).toEqual({
      state: 's',
      nonce: 'n',
      codeVerifier: 'v',
      returnTo: '/',
    });
  });
});

describe('session cookies', () => {
  it('keeps every cookie under 4096 bytes with Okta-sized tokens and a large groups claim', async () => {
    const codec = createSessionCodec([NEW]);
    const groups = Array.from({ length: 60 }, (_, i) => `app-group-with-a-long-name-${i}`);
    const big = session({
      user: { sub: '00u1', name: 'Alice', email: 'alice@example.com', groups },
      accessToken: fakeJwt(1200 + groups.join('","').length, 'at'),
      idToken: fakeJwt(1000 + groups.join('","').length, 'id'),
    });
    const sealed = await codec.sealSession(big);
    const names = cookieNames(true);
    const cookies = writeChunkedCookie(
      names.session,
      sealed,
      { maxAgeS: 3600, sameSite: 'Lax', secure: true },
      [],
    );
    expect(cookies.length).toBeGreaterThan(1);
    for (const c of cookies)
      expect(new TextEncoder().encode(serializeCookie(c)).length).toBeLessThanOrEqual(4096);
    const jar = Object.fromEntries(cookies.map((c) => [c.name, c.value]));
    expect(await codec.unsealSession(readChunkedCookie(jar, names.session) ?? '')).toEqual(big);
  });

  it('deletes chunks of a previous, longer value', () => {
    const attrs = { maxAgeS: 60, sameSite: 'Lax', secure: false } as const;
    const out = writeChunkedCookie('bff_session', 'short', attrs, ['bff_session.0', 'bff_session.1']);
    expect(out.map((c) => [c.name, c.maxAgeS])).toEqual([
      ['bff_session', 60],
      ['bff_session.0', 0],
      ['bff_session.1', 0],
    ]);
    const long = 'x'.repeat(COOKIE_CHUNK_CHARS + 1);
    expect(writeChunkedCookie('bff_session', long, attrs, ['bff_session']).map((c) => c.name)).toEqual([
      'bff_session.0',
      'bff_session.1',
      'bff_session',
    ]);
  });

  it('uses the __Host- prefix and Secure only for https origins', () => {
    expect(cookieNames(true).session).toBe('__Host-bff_session');
    expect(cookieNames(false).session).toBe('bff_session');
    const header = serializeCookie({
      name: '__Host-bff_session',
      value: 'v',
      maxAgeS: 10,
      sameSite: 'Lax',
      secure: true,
    });
    expect(header).toBe('__Host-bff_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=10; Secure');
    expect(header).not.toMatch(/Domain/i);
  });
});
