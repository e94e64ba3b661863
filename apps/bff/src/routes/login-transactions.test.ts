/**
 * Transaction cookies do not pile up: they have three fixed names (slots), so however many logins
 * a browser starts, one after the other or all at once, it holds at most three of them, its
 * `Cookie` header stays small and the logins in two or three tabs all complete. Driven over real
 * HTTP against the embedded IdP, with a browser-like jar.
 *
 * Each test starts its own BFF and sends it at most 22 logins, under the per-address login rate
 * limit (30 a minute by default).
 */
import { createHash } from 'node:crypto';
import { type CallbackRequest, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransactionCodec, MAX_TXN_COOKIES } from '../auth/transaction.ts';
import { deriveKeyRing } from '../sealing/keys.ts';
import { seal } from '../sealing/seal.ts';
import { COOKIE_PURPOSE } from '../session/store/cookies.ts';
import {
  type Bff,
  CookieJar,
  createHarness,
  DEV_USERS,
  type Harness,
  sendCallback,
  TEST_SESSION_SECRET,
} from '../testing/harness.ts';

/** What common proxies accept as a whole request header section. */
const PROXY_HEADER_LIMIT_BYTES = 8 * 1024;
/** The longest returnTo the BFF keeps: each login then carries the largest transaction cookie. */
const LONGEST_RETURN_TO = `/${'r'.repeat(511)}`;

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

const user = DEV_USERS[0]!;
const codec = createTransactionCodec([TEST_SESSION_SECRET], COOKIE_PURPOSE.transaction);
const txnNames = (jar: CookieJar) => jar.names().filter((n) => n.startsWith('bff_txn.'));
const txnDeletions = (res: Response) =>
  res.headers.getSetCookie().filter((c) => /^bff_txn\.[^=]+=;/.test(c) && c.includes('Max-Age=0'));

/** The three names a transaction cookie can have: one slot per login in flight. */
const SLOTS = ['bff_txn.0', 'bff_txn.1', 'bff_txn.2'];
/** The name of the transaction cookie `res` sets (not deletes). */
const setTxnName = (res: Response) =>
  res.headers
    .getSetCookie()
    .find((c) => /^bff_txn\.[^=]+=[^;]/.test(c))
    ?.split('=')[0] ?? '';
/** The value of the transaction cookie `res` sets. */
const setTxnValue = (res: Response) =>
  res.headers
    .getSetCookie()
    .find((c) => /^bff_txn\.[^=]+=[^;]/.test(c))
    ?.split(';')[0]
    ?.split('=')[1] ?? '';
/** Names of the transaction cookies `res` deletes, sorted. */
const deletedNames = (res: Response) =>
  txnDeletions(res)
    .map((c) => c.split('=')[0])
    .sort();

/** The `state` of each login the jar holds, by slot. */
async function heldStates(jar: CookieJar): Promise<Record<string, string | undefined>> {
  const entries = txnNames(jar).map(async (name) => {
    const transaction = await codec.unseal(jar.get(name) ?? '');
    return [name, transaction?.state] as const;
  });
  return Object.fromEntries(await Promise.all(entries));
}

interface Started {
  readonly response: Response;
  readonly authorizeUrl: URL;
  readonly state: string;
  /** The name of this login's transaction cookie: its slot. */
  readonly cookie: string;
}

/** `GET /auth/login` in `jar`'s browser, storing what it sets. */
async function login(bff: Bff, jar: CookieJar, returnTo?: string): Promise<Started> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const response = await bff.fetch(`/auth/login${query}`, { jar });
  expect(response.status).toBe(302);
  const authorizeUrl = new URL(response.headers.get('location') ?? '');
  const state = authorizeUrl.searchParams.get('state') ?? '';
  return { response, authorizeUrl, state, cookie: setTxnName(response) };
}

/** The IdP's part of a started login, up to the callback the browser would send. */
const atIdp = (started: Started, idpJar: CookieJar): Promise<CallbackRequest> =>
  driveIdpLogin({
    authorizeUrl: started.authorizeUrl,
    username: user.login,
    password: user.password,
    jar: idpJar,
  });

describe('transaction cookies', () => {
  it('hold at most three after 20 logins, keep the Cookie header under 8 KB, and never cause a 431', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const started: Started[] = [];
    for (let i = 0; i < 20; i++) {
      started.push(await login(bff, jar, LONGEST_RETURN_TO));
      expect(txnNames(jar).length, `after login ${i + 1}`).toBeLessThanOrEqual(MAX_TXN_COOKIES);
      expect(jar.header(bff.origin).length, `after login ${i + 1}`).toBeLessThanOrEqual(
        PROXY_HEADER_LIMIT_BYTES,
      );
    }
    // The three kept are the three newest, in the three slots.
    expect(txnNames(jar).sort()).toEqual(SLOTS);
    expect(Object.values(await heldStates(jar)).sort()).toEqual(
      started
        .slice(-MAX_TXN_COOKIES)
        .map((s) => s.state)
        .sort(),
    );
    const next = await bff.fetch('/auth/login', { jar });
    expect(next.status).toBe(302);
    expect(next.headers.get('location')?.startsWith(`${h.idp.issuer}/v1/authorize?`)).toBe(true);
    // Only a count is logged: no cookie name or value.
    const dropped = bff.logs.filter((l) => l.includes('"event":"login_transactions_dropped"'));
    expect(dropped).toHaveLength(18);
    for (const line of dropped) expect(line).not.toMatch(/bff_txn\./);
  });

  it('let logins started in three tabs all complete, each with its own transaction', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const tabs = [
      await login(bff, jar, '/one'),
      await login(bff, jar, '/two'),
      await login(bff, jar, '/three'),
    ];
    expect(txnNames(jar)).toHaveLength(3);
    for (const tab of tabs) expect(txnDeletions(tab.response)).toEqual([]);
    const callbacks = [];
    for (const tab of tabs) callbacks.push(await atIdp(tab, idpJar));
    // Completed out of order, as tabs would be.
    for (const i of [1, 2, 0]) {
      const res = await sendCallback(bff, jar, callbacks[i]!);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(['/one', '/two', '/three'][i]);
      expect(jar.names()).not.toContain(tabs[i]!.cookie);
    }
    expect(txnNames(jar)).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('give a fourth login exactly the oldest one’s slot; the oldest then fails cleanly, the others complete', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const first = await login(bff, jar, '/first');
    const others = [await login(bff, jar, '/2'), await login(bff, jar, '/3')];
    const fourth = await login(bff, jar, '/4');
    expect(fourth.cookie).toBe(first.cookie);
    expect(txnDeletions(fourth.response)).toEqual([]);
    expect(fourth.response.headers.getSetCookie()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${first.cookie.replace('.', '\\.')}=[^;]+; Max-Age=600; Path=/; HttpOnly; SameSite=Lax$`,
        ),
      ),
    ]);
    expect(await heldStates(jar)).toEqual(
      Object.fromEntries([...others, fourth].map((s) => [s.cookie, s.state])),
    );
    expect(bff.logs.filter((l) => l.includes('"event":"login_transactions_dropped"'))).toHaveLength(1);

    const late = await sendCallback(bff, jar, await atIdp(first, idpJar));
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/?login_error=state_mismatch');
    expect(late.headers.getSetCookie()).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);

    for (const [i, tab] of [...others, fourth].entries()) {
      const res = await sendCallback(bff, jar, await atIdp(tab, idpJar));
      expect(res.headers.get('location')).toBe(['/2', '/3', '/4'][i]);
    }
    expect(txnNames(jar)).toEqual([]);
  });

  it('set and delete with SameSite=None; Secure under form_post, so the cross-site POST carries them', async () => {
    const bff = await h.startBff({ OKTA_RESPONSE_MODE: 'form_post' });
    const jar = new CookieJar();
    const [legacy] = await Promise.all(['before'].map(legacyCookie));
    jar.store(bff.origin, setCookies([`${legacy}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=None`]));
    const legacyName = legacy?.split('=')[0] ?? '';
    const started = await login(bff, jar, '/posted');
    const set = started.response.headers.getSetCookie();
    expect(set).toHaveLength(2);
    expect(set[0]).toMatch(/^bff_txn\.[0-2]=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=None$/);
    expect(set[1]?.startsWith(`${legacyName}=;`)).toBe(true);
    expect(set[1]).toMatch(/; Max-Age=0; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=None$/);
    expect(txnNames(jar)).toEqual([started.cookie]);

    const callback = await atIdp(started, new CookieJar());
    expect(callback.method).toBe('POST');
    const done = await sendCallback(bff, jar, callback);
    expect(done.headers.get('location')).toBe('/posted');
    const cleared = txnDeletions(done);
    expect(cleared).toHaveLength(1);
    expect(cleared[0]?.startsWith(`${started.cookie}=;`)).toBe(true);
    expect(cleared[0]).toMatch(/; Max-Age=0; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=None$/);
    expect(txnNames(jar)).toEqual([]);
  });

  it.each<[string, (value: string) => Promise<string>]>([
    ['garbage', async () => 'garbage'],
    ['tampered', async (v) => `${v.slice(0, -30)}${v.at(-30) === 'A' ? 'B' : 'A'}${v.slice(-29)}`],
    [
      'expired',
      () =>
        codec.seal(
          { state: 'old', nonce: 'n', codeVerifier: 'v', returnTo: '/' },
          Math.floor(Date.now() / 1000) - 1,
        ),
    ],
    [
      'sealed under another key',
      () =>
        createTransactionCodec(['another-secret-another-secret-1234'], COOKIE_PURPOSE.transaction).seal(
          { state: 'other', nonce: 'n', codeVerifier: 'v', returnTo: '/' },
          Math.floor(Date.now() / 1000) + 600,
        ),
    ],
  ])(
    'take a slot holding a %s value as free, delete stray names, and leave other cookies alone',
    async (_, spoil) => {
      const bff = await h.startBff();
      const held = [await login(bff, new CookieJar()), await login(bff, new CookieJar())];
      const [legacy] = await Promise.all(['before'].map(legacyCookie));
      const cookie = [
        'other=kept',
        `bff_txn.0=${setTxnValue(held[0]!.response)}`,
        `bff_txn.1=${await spoil(setTxnValue(held[0]!.response))}`,
        `bff_txn.2=${setTxnValue(held[1]!.response)}`,
        'bff_txn.garbage=garbage',
        legacy,
        // The parser accepts this name, but a Set-Cookie cannot carry it: never a 500.
        'bff_txn.a@b=x',
      ].join('; ');
      const res = await bff.fetch('/auth/login', { headers: { cookie } });
      expect(res.status).toBe(302);
      expect(setTxnName(res)).toBe('bff_txn.1');
      expect(deletedNames(res)).toEqual(['bff_txn.garbage', legacy?.split('=')[0]].sort());
      expect(res.headers.getSetCookie()).toHaveLength(3);
      // Overwriting a value that did not open is no login replaced.
      expect(bff.logs.some((l) => l.includes('"event":"login_transactions_dropped"'))).toBe(false);
    },
  );

  it('send a returnTo that percent-encoding would lengthen past 512 characters to /', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const encodedLong = await login(bff, jar, `/${'€'.repeat(300)}`);
    const setCookie = encodedLong.response.headers.getSetCookie()[0] ?? '';
    expect(setCookie.length).toBeLessThan(1_200);
    const res = await sendCallback(bff, jar, await atIdp(encodedLong, new CookieJar()));
    expect(res.headers.get('location')).toBe('/');
    // The longest one kept still comes back as it was asked for.
    const longest = await login(bff, jar, LONGEST_RETURN_TO);
    const back = await sendCallback(bff, jar, await atIdp(longest, new CookieJar()));
    expect(back.headers.get('location')).toBe(LONGEST_RETURN_TO);
  });

  it('stay at most three when 20 logins start at once in one browser, which still gets through after', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    // A login already in flight in one tab: while a slot is free, no flood pushes it out.
    const earlier = await login(bff, jar, '/earlier');
    // A restored session with 20 tabs, or a page firing requests: every one carries the same cookies.
    const cookie = jar.header(bff.origin);
    const path = `/auth/login?returnTo=${encodeURIComponent(LONGEST_RETURN_TO)}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => bff.fetch(path, { headers: { cookie } })),
    );
    for (const res of responses) {
      expect(res.status).toBe(302);
      jar.store(new URL(path, bff.origin), res);
    }
    expect(txnNames(jar).length).toBeLessThanOrEqual(MAX_TXN_COOKIES);
    expect(jar.header(bff.origin).length).toBeLessThanOrEqual(PROXY_HEADER_LIMIT_BYTES);
    expect(jar.names()).toContain(earlier.cookie);

    const done = await sendCallback(bff, jar, await atIdp(earlier, idpJar));
    expect(done.headers.get('location')).toBe('/earlier');
    const next = await bff.fetch('/auth/login', { jar });
    expect(next.status).toBe(302);
    expect(next.headers.get('location')?.startsWith(`${h.idp.issuer}/v1/authorize?`)).toBe(true);
    expect(txnNames(jar).length).toBeLessThanOrEqual(MAX_TXN_COOKIES);
  });

  it('give two tabs started one after the other a slot each; both complete, each clearing only its own', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const one = await login(bff, jar, '/one');
    const two = await login(bff, jar, '/two');
    expect(SLOTS).toContain(one.cookie);
    expect(SLOTS).toContain(two.cookie);
    expect(two.cookie).not.toBe(one.cookie);
    expect(txnNames(jar).sort()).toEqual([one.cookie, two.cookie].sort());
    const callbacks = [await atIdp(one, idpJar), await atIdp(two, idpJar)];

    const second = await sendCallback(bff, jar, callbacks[1]!);
    expect(second.headers.get('location')).toBe('/two');
    expect(deletedNames(second)).toEqual([two.cookie]);
    expect(txnNames(jar)).toEqual([one.cookie]);
    const first = await sendCallback(bff, jar, callbacks[0]!);
    expect(first.headers.get('location')).toBe('/one');
    expect(deletedNames(first)).toEqual([one.cookie]);
    expect(txnNames(jar)).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(200);
  });

  it('end a login whose slot a concurrent login overwrote with a login_error, never a 5xx; the other completes', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const a = await login(bff, jar, '/a');
    // B was sent before A's cookie was stored, beside two other logins in flight: A's slot was
    // the only free one it saw, and its Set-Cookie reached the browser after A's.
    const held = [await login(bff, new CookieJar()), await login(bff, new CookieJar())];
    const free = SLOTS.filter((slot) => slot !== a.cookie);
    const cookie = held.map((s, i) => `${free[i]}=${setTxnValue(s.response)}`).join('; ');
    const bPath = '/auth/login?returnTo=/b';
    const bResponse = await bff.fetch(bPath, { headers: { cookie } });
    expect(bResponse.status).toBe(302);
    expect(setTxnName(bResponse)).toBe(a.cookie);
    jar.store(new URL(bPath, bff.origin), bResponse);
    expect(txnNames(jar)).toEqual([a.cookie]);

    const late = await sendCallback(bff, jar, await atIdp(a, idpJar));
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/?login_error=state_mismatch');
    expect(late.headers.getSetCookie()).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);

    const bAuthorizeUrl = new URL(bResponse.headers.get('location') ?? '');
    const b: Started = {
      response: bResponse,
      authorizeUrl: bAuthorizeUrl,
      state: bAuthorizeUrl.searchParams.get('state') ?? '',
      cookie: a.cookie,
    };
    const done = await sendCallback(bff, jar, await atIdp(b, idpJar));
    expect(done.headers.get('location')).toBe('/b');
    expect(txnNames(jar)).toEqual([]);
  });

  it('delete the per-state cookies of earlier releases wherever they are seen: at login and at the callback', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const legacy = await Promise.all(['before-1', 'before-2'].map(legacyCookie));
    jar.store(bff.origin, setCookies(legacy.map((c) => `${c}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`)));
    const legacyNames = legacy.map((c) => c.split('=')[0] ?? '').sort();
    expect(txnNames(jar).sort()).toEqual(legacyNames);

    const started = await login(bff, jar, '/after');
    expect(SLOTS).toContain(started.cookie);
    expect(deletedNames(started.response)).toEqual(legacyNames);
    expect(txnNames(jar)).toEqual([started.cookie]);

    // One more left behind (another tab of the old release), seen first at the callback.
    jar.store(bff.origin, setCookies([`${legacy[0]}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`]));
    const done = await sendCallback(bff, jar, await atIdp(started, new CookieJar()));
    expect(done.headers.get('location')).toBe('/after');
    expect(deletedNames(done)).toEqual(
      [legacyNames.find((n) => legacy[0]?.startsWith(`${n}=`)), started.cookie].sort(),
    );
    expect(txnNames(jar)).toEqual([]);
  });
});

/**
 * A transaction cookie as releases before the slots made it: named after a hash of its `state`,
 * the transaction alone sealed inside.
 */
async function legacyCookie(state: string): Promise<string> {
  const value = await seal(
    Buffer.from(JSON.stringify({ state, nonce: 'n', codeVerifier: 'v', returnTo: '/' })),
    deriveKeyRing([TEST_SESSION_SECRET], COOKIE_PURPOSE.transaction),
    Math.floor(Date.now() / 1000) + 600,
  );
  return `bff_txn.${createHash('sha256').update(state).digest('base64url').slice(0, 22)}=${value}`;
}

/** A response that sets `cookies`, to put them in a jar. */
const setCookies = (cookies: readonly string[]) =>
  new Response(null, { headers: cookies.map((c): [string, string] => ['set-cookie', c]) });
