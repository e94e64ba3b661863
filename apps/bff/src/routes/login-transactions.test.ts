/**
 * Transaction cookies do not pile up: however many logins a browser starts, it holds at most
 * three of them (the newest), so its `Cookie` header stays small and the logins in two or three
 * tabs all complete. Driven over real HTTP against the embedded IdP, with a browser-like jar.
 *
 * Each test starts its own BFF and sends it at most 21 logins, under the per-address login rate
 * limit (30 a minute by default).
 */
import { type CallbackRequest, driveIdpLogin } from '@okta-bff/dev-idp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransactionCodec, MAX_TXN_COOKIES, transactionCookieName } from '../auth/transaction.ts';
import { COOKIE_PURPOSE, cookieNames } from '../session/store/cookies.ts';
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
const names = cookieNames(false);
const txnNames = (jar: CookieJar) => jar.names().filter((n) => n.startsWith('bff_txn.'));
const txnDeletions = (res: Response) =>
  res.headers.getSetCookie().filter((c) => /^bff_txn\.[^=]+=;/.test(c) && c.includes('Max-Age=0'));

interface Started {
  readonly response: Response;
  readonly authorizeUrl: URL;
  /** The name of this login's transaction cookie. */
  readonly cookie: string;
}

/** `GET /auth/login` in `jar`'s browser, storing what it sets. */
async function login(bff: Bff, jar: CookieJar, returnTo?: string): Promise<Started> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const response = await bff.fetch(`/auth/login${query}`, { jar });
  expect(response.status).toBe(302);
  const authorizeUrl = new URL(response.headers.get('location') ?? '');
  const state = authorizeUrl.searchParams.get('state') ?? '';
  return { response, authorizeUrl, cookie: transactionCookieName(names, state) };
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
    // The three kept are the three newest.
    expect(txnNames(jar).sort()).toEqual(
      started
        .slice(-MAX_TXN_COOKIES)
        .map((s) => s.cookie)
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

  it('drop exactly the oldest login on a fourth; the oldest then fails cleanly, the others complete', async () => {
    const bff = await h.startBff();
    const jar = new CookieJar();
    const idpJar = new CookieJar();
    const first = await login(bff, jar, '/first');
    const others = [await login(bff, jar, '/2'), await login(bff, jar, '/3')];
    const fourth = await login(bff, jar, '/4');
    const deleted = txnDeletions(fourth.response);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatch(new RegExp(`^${first.cookie.replace('.', '\\.')}=; Max-Age=0; Path=/;`));
    expect(deleted[0]).toContain('HttpOnly');
    expect(deleted[0]).toContain('SameSite=Lax');
    expect(txnNames(jar).sort()).toEqual([...others, fourth].map((s) => s.cookie).sort());

    const late = await sendCallback(bff, jar, await atIdp(first, idpJar));
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/?login_error=state_mismatch');
    expect(late.headers.getSetCookie().filter((c) => c.includes('bff_session'))).toEqual([]);
    expect((await bff.fetch('/auth/user', { jar })).status).toBe(401);

    for (const [i, tab] of [...others, fourth].entries()) {
      const res = await sendCallback(bff, jar, await atIdp(tab, idpJar));
      expect(res.headers.get('location')).toBe(['/2', '/3', '/4'][i]);
    }
    expect(txnNames(jar)).toEqual([]);
  });

  it('delete with SameSite=None; Secure under form_post, as they were set', async () => {
    const bff = await h.startBff({ OKTA_RESPONSE_MODE: 'form_post' });
    const jar = new CookieJar();
    const first = await login(bff, jar);
    await login(bff, jar);
    await login(bff, jar);
    const fourth = await login(bff, jar);
    const deleted = txnDeletions(fourth.response);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]?.startsWith(`${first.cookie}=;`)).toBe(true);
    expect(deleted[0]).toMatch(/; Max-Age=0; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=None$/);
    expect(txnNames(jar)).toHaveLength(3);
    expect(txnNames(jar)).not.toContain(first.cookie);
  });

  it('drop the ones that do not open (garbage, tampered, expired, renamed) and leave other cookies alone', async () => {
    const bff = await h.startBff();
    const real = await login(bff, new CookieJar());
    const realValue = real.response.headers.getSetCookie()[0]?.split(';')[0]?.split('=')[1] ?? '';
    const codec = createTransactionCodec([TEST_SESSION_SECRET], COOKIE_PURPOSE.transaction);
    const expired = await codec.seal(
      { state: 'old', nonce: 'n', codeVerifier: 'v', returnTo: '/' },
      Math.floor(Date.now() / 1000) - 1,
    );
    const flip = (v: string, i: number) => `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;
    const cookie = [
      'other=kept',
      `${real.cookie}=${realValue}`,
      'bff_txn.garbage=garbage',
      `bff_txn.tampered=${flip(realValue, realValue.length - 30)}`,
      `${transactionCookieName(names, 'old')}=${expired}`,
      `bff_txn.renamed=${realValue}`,
      // The parser accepts this name, but a Set-Cookie cannot carry it: never a 500.
      'bff_txn.a@b=x',
    ].join('; ');
    const res = await bff.fetch('/auth/login', { headers: { cookie } });
    expect(res.status).toBe(302);
    expect(
      txnDeletions(res)
        .map((c) => c.split('=')[0])
        .sort(),
    ).toEqual(
      ['bff_txn.garbage', 'bff_txn.renamed', 'bff_txn.tampered', transactionCookieName(names, 'old')].sort(),
    );
  });

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
});
