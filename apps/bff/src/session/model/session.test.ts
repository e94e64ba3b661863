import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTransactionCodec } from '../../auth/transaction.ts';
import { serializeCookie } from '../../http/cookie-header.ts';
import { PROTOCOL_CLAIMS } from '../../oidc/login.ts';
import { sessionCodecFor } from '../../services.ts';
import {
  COOKIE_CHUNK_CHARS,
  COOKIE_PURPOSE,
  CookieBudgetError,
  cookieNames,
  readChunkedCookie,
  SESSION_COOKIE_BUDGET_CHARS,
  writeChunkedCookie,
} from '../store/cookies.ts';
import type { Session } from './session.ts';
import { decodeSession, encodeSession } from './session-payload.ts';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);
const now = () => Math.floor(Date.now() / 1000);
const isUserClaim = (name: string) => !PROTOCOL_CLAIMS.has(name);

let signingKey: CryptoKey;
beforeAll(async () => {
  signingKey = (await generateKeyPair('RS256')).privateKey;
});

/** A real RS256 JWT, as Okta signs them. */
const jwt = (claims: JWTPayload) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(signingKey);

/** Okta-like group names: varied words, not a counter (which would compress unrealistically well). */
function oktaGroups(count: number): string[] {
  const kinds = ['app', 'dept', 'proj', 'region', 'role', 'team'];
  const words = [
    'salesforce',
    'engineering',
    'platform',
    'apollo',
    'emea',
    'berlin',
    'finance',
    'readers',
    'admins',
    'oncall',
    'payments',
    'mobile',
    'data',
    'security',
    'support',
  ];
  return Array.from({ length: count }, (_, i) => {
    const w = (k: number) => words[(i * 7 + k * 13 + ((i >> k) & 5)) % words.length];
    return `${kinds[i % kinds.length]}-${w(1)}-${w(2)}-${w(3)}-${(i * 2654435761) % 99991}`;
  });
}

/** A session as a login with `groups` makes it: the same claims in the ID token, the access token and `user`. */
async function oktaSession(
  groups: string[] = ['Everyone'],
  overrides: Partial<Session> = {},
): Promise<Session> {
  const t = now();
  const profile = {
    name: 'Alice Example',
    email: 'alice@example.com',
    preferred_username: 'alice@example.com',
    groups,
  };
  const idToken = await jwt({
    iss: 'https://dev-1.okta.com/oauth2/default',
    aud: '0oaclient',
    sub: '00u1',
    iat: t,
    exp: t + 3600,
    nonce: 'n',
    sid: 'idp-sid',
    ...profile,
  });
  const accessToken = await jwt({
    ver: 1,
    iss: 'https://dev-1.okta.com/oauth2/default',
    aud: 'api://default',
    sub: 'alice@example.com',
    cid: '0oaclient',
    uid: '00u1',
    scp: ['openid', 'profile', 'groups'],
    iat: t,
    exp: t + 3600,
    groups,
  });
  return {
    sid: 'sid-1',
    idpSid: 'idp-sid',
    user: { sub: '00u1', ...profile, email_verified: true },
    accessToken,
    accessTokenExpiresAt: t + 3600,
    refreshToken: 'rt-opaque-value-0123456789',
    idToken,
    scope: 'openid profile email offline_access groups',
    createdAt: t - 10,
    lastSeenAt: t,
    expiresAt: t + 3600,
    ...overrides,
  };
}

describe('session payload', () => {
  it('round-trips every token byte for byte, and user claims that differ from the ID token', async () => {
    const s = await oktaSession(['Everyone', 'Admins']);
    expect(decodeSession(encodeSession(s, isUserClaim), isUserClaim)).toEqual(s);
    // A user without some ID-token claims, with others changed, and opaque or odd tokens.
    const odd = {
      ...s,
      user: { sub: '00u1', name: 'Renamed' },
      accessToken: 'opaque-at',
      idToken: 'a.%%%.c',
      refreshToken: undefined,
      scope: undefined,
      idpSid: undefined,
    };
    expect(decodeSession(encodeSession(odd, isUserClaim), isUserClaim)).toEqual(odd);
  });

  it('keeps 300 groups once: three copies cost little more than one', async () => {
    const groups = oktaGroups(300);
    const one = encodeSession(
      { ...(await oktaSession(groups)), accessToken: 'opaque', user: { sub: '00u1' } },
      isUserClaim,
    ).length;
    const three = encodeSession(await oktaSession(groups), isUserClaim).length;
    expect(three).toBeLessThan(one * 1.25);
  });

  it('refuses bytes that are not a session of this format', () => {
    expect(decodeSession(new Uint8Array([1, 2, 3]), isUserClaim)).toBeUndefined();
    expect(decodeSession(new TextEncoder().encode('{"f":1}'), isUserClaim)).toBeUndefined();
  });
});

describe('session codec', () => {
  it('round-trips a session and never shows the tokens in the sealed value', async () => {
    const codec = sessionCodecFor([NEW]);
    const s = await oktaSession();
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
  ])('treats a %s value as no session, where the untouched value opens', async (_, mutate) => {
    const codec = sessionCodecFor([NEW]);
    const sealed = await codec.sealSession(await oktaSession());
    expect(await codec.unsealSession(sealed)).toBeDefined();
    expect(await codec.unsealSession(mutate(sealed))).toBeUndefined();
  });

  it('opens cookies sealed under a retired key while sealing with the new one', async () => {
    const before = sessionCodecFor([OLD]);
    const rotated = sessionCodecFor([NEW, OLD]);
    const afterRetirement = sessionCodecFor([NEW]);
    const s = await oktaSession();
    const oldCookie = await before.sealSession(s);
    expect(await rotated.unsealSession(oldCookie)).toMatchObject({ sid: 'sid-1' });
    expect(await afterRetirement.unsealSession(oldCookie)).toBeUndefined();
    const newCookie = await rotated.sealSession(s);
    expect(await afterRetirement.unsealSession(newCookie)).toMatchObject({ sid: 'sid-1' });
    expect(await before.unsealSession(newCookie)).toBeUndefined();
  });

  it('opens a value bound to a place (a Redis record key) only there, sealed under an old secret or the new one', async () => {
    const before = sessionCodecFor([OLD], COOKIE_PURPOSE.redisRecord);
    const rotated = sessionCodecFor([NEW, OLD], COOKIE_PURPOSE.redisRecord);
    const s = await oktaSession();
    for (const sealed of [
      await before.sealSession(s, 'record-a'),
      await rotated.sealSession(s, 'record-a'),
    ]) {
      expect(await rotated.unsealSession(sealed, 'record-a')).toEqual(s);
      expect(await rotated.unsealSession(sealed, 'record-b')).toBeUndefined();
      expect(await rotated.unsealSession(sealed)).toBeUndefined();
      // The binding is authenticated: rewriting it in the header breaks the seal.
      const [header = '', ...rest] = sealed.split('.');
      const moved = { ...JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), bnd: 'record-b' };
      const forged = [Buffer.from(JSON.stringify(moved)).toString('base64url'), ...rest].join('.');
      expect(await rotated.unsealSession(forged, 'record-b')).toBeUndefined();
    }
    // An unbound value (a cookie's) never opens where a binding is expected.
    expect(await rotated.unsealSession(await rotated.sealSession(s), 'record-a')).toBeUndefined();
  });

  it('refuses an expired session, and a transaction never opens as a session nor the reverse', async () => {
    const codec = sessionCodecFor([NEW]);
    expect(
      await codec.unsealSession(await codec.sealSession(await oktaSession([], { expiresAt: now() - 10 }))),
    ).toBeUndefined();
    const txns = createTransactionCodec([NEW], COOKIE_PURPOSE.transaction);
    const txn = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/' };
    const sealedTxn = await txns.seal(txn, now() + 60);
    expect(await txns.unseal(sealedTxn)).toEqual(txn);
    expect(await codec.unsealSession(sealedTxn)).toBeUndefined();
    expect(await txns.unseal(await codec.sealSession(await oktaSession()))).toBeUndefined();
    expect(await txns.unseal(await txns.seal(txn, now() - 1))).toBeUndefined();
  });
});

describe('session cookies', () => {
  it('fit a user in 300 groups in at most two cookies under 4096 bytes each, and read back', async () => {
    const codec = sessionCodecFor([NEW]);
    const big = await oktaSession(oktaGroups(300));
    const sealed = await codec.sealSession(big);
    const names = cookieNames(true);
    const cookies = writeChunkedCookie(
      names.session,
      sealed,
      { maxAgeS: 3600, sameSite: 'Lax', secure: true },
      [],
    );
    expect(cookies.length).toBeLessThanOrEqual(2);
    for (const c of cookies)
      expect(new TextEncoder().encode(serializeCookie(c)).length).toBeLessThanOrEqual(4096);
    const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect(header.length).toBeLessThanOrEqual(7 * 1024);
    const jar = Object.fromEntries(cookies.map((c) => [c.name, c.value]));
    expect(await codec.unsealSession(readChunkedCookie(jar, names.session) ?? '')).toEqual(big);
  });

  it('refuse a value over the budget instead of sending cookies a proxy would reject', () => {
    const attrs = { maxAgeS: 60, sameSite: 'Lax', secure: false } as const;
    expect(() =>
      writeChunkedCookie('bff_session', 'x'.repeat(SESSION_COOKIE_BUDGET_CHARS + 1), attrs, []),
    ).toThrow(CookieBudgetError);
    expect(
      writeChunkedCookie('bff_session', 'x'.repeat(SESSION_COOKIE_BUDGET_CHARS), attrs, []),
    ).toHaveLength(2);
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

  it('uses the __Host- prefix and Secure only for https origins, and never a Domain', () => {
    expect(cookieNames(true).session).toBe('__Host-bff_session');
    expect(cookieNames(false).session).toBe('bff_session');
    const header = serializeCookie({
      name: '__Host-bff_session',
      value: 'v',
      maxAgeS: 10,
      sameSite: 'Lax',
      secure: true,
    });
    expect(header).toBe('__Host-bff_session=v; Max-Age=10; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(
      serializeCookie({ name: 'bff_session', value: '', maxAgeS: 0, sameSite: 'Lax', secure: false }),
    ).toBe('bff_session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });
});
