import { describe, expect, it } from 'vitest';
import type { Transaction } from '../oidc/login.ts';
import { COOKIE_PURPOSE, cookieNames } from '../session/store/cookies.ts';
import {
  boundReturnTo,
  createTransactionCodec,
  MAX_TXN_COOKIES,
  type PresentTransaction,
  readTransactionCookies,
  TXN_COOKIE_MAX_AGE_S,
  TXN_RETURN_TO_MAX_CHARS,
  transactionCookieName,
  transactionCookiesToDrop,
} from './transaction.ts';

const SECRET = 's'.repeat(32);
const NOW_S = 1_800_000_000;
const names = cookieNames(false);
const codec = createTransactionCodec([SECRET], COOKIE_PURPOSE.transaction);

const txn = (state: string): Transaction => ({ state, nonce: 'n', codeVerifier: 'v', returnTo: '/' });
/** A login started `ageS` seconds before {@link NOW_S}, as its cookie name and sealed value. */
async function started(state: string, ageS: number): Promise<[string, string]> {
  const value = await codec.seal(txn(state), NOW_S - ageS + TXN_COOKIE_MAX_AGE_S);
  return [transactionCookieName(names, state), value];
}
const present = (name: string, expiresAtS?: number): PresentTransaction => ({ name, expiresAtS });

describe('transactionCookiesToDrop', () => {
  it('leaves the browser at most MAX_TXN_COOKIES logins, the new one included, dropping only the oldest', () => {
    for (let held = 0; held <= MAX_TXN_COOKIES + 3; held++) {
      // Sealed expiries in header order: t0 is the oldest.
      const cookies = Array.from({ length: held }, (_, i) => present(`t${i}`, 100 + i));
      const dropped = transactionCookiesToDrop(cookies);
      const kept = held - dropped.length;
      expect(kept + 1, `logins after starting one with ${held} held`).toBe(
        Math.min(held + 1, MAX_TXN_COOKIES),
      );
      expect(dropped).toEqual(cookies.slice(0, dropped.length).map((c) => c.name));
    }
  });

  it('with room for three, keeps the newest two beside the new login, oldest by sealed expiry first', () => {
    expect(transactionCookiesToDrop([present('a', 100), present('b', 200)], 3)).toEqual([]);
    // Header order says c, a, b; age says a is oldest, then b: the expiry decides.
    expect(transactionCookiesToDrop([present('c', 300), present('a', 100), present('b', 200)], 3)).toEqual([
      'a',
    ]);
    expect(
      transactionCookiesToDrop(
        [present('d', 400), present('c', 300), present('a', 100), present('b', 200)],
        3,
      ),
    ).toEqual(['a', 'b']);
  });

  it('breaks ties within one second by the header order, which user agents sort oldest first', () => {
    expect(transactionCookiesToDrop([present('x', 100), present('y', 100), present('z', 100)], 3)).toEqual([
      'x',
    ]);
    expect(transactionCookiesToDrop([present('z', 100), present('y', 100), present('x', 100)], 3)).toEqual([
      'z',
    ]);
  });

  it('drops every cookie that does not open, without counting it against the live logins', () => {
    expect(
      transactionCookiesToDrop([present('g1'), present('a', 100), present('g2'), present('b', 200)], 3),
    ).toEqual(['g1', 'g2']);
  });
});

describe('readTransactionCookies', () => {
  it('dates each genuine login by its sealed expiry and marks everything else as not opening', async () => {
    const [youngName, young] = await started('young', 10);
    const [oldName, old] = await started('old', 300);
    const [expiredName, expired] = await started('expired', TXN_COOKIE_MAX_AGE_S + 1);
    const [, foreign] = await started('another-login', 5);
    const flip = (v: string, i: number) => `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;
    const cookies = {
      bff_session: 'not a transaction',
      [youngName]: young,
      [oldName]: old,
      [expiredName]: expired,
      'bff_txn.garbage': 'garbage',
      'bff_txn.tampered': flip(young, young.length - 30),
      'bff_txn.renamed': foreign,
      // The parser accepts this name but no Set-Cookie can carry it: left alone, not a crash.
      'bff_txn.a@b': 'x',
    };
    expect(await readTransactionCookies(codec, names, cookies, NOW_S)).toEqual([
      present(youngName, NOW_S - 10 + TXN_COOKIE_MAX_AGE_S),
      present(oldName, NOW_S - 300 + TXN_COOKIE_MAX_AGE_S),
      present(expiredName),
      present('bff_txn.garbage'),
      present('bff_txn.tampered'),
      present('bff_txn.renamed'),
    ]);
  });

  it('cannot be made to see a login as younger: a rewritten expiry no longer opens', async () => {
    const [name, value] = await started('rewritten', 500);
    const [header, ...rest] = value.split('.');
    const claims = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8'));
    const younger = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 400 })).toString('base64url');
    const forged = [younger, ...rest].join('.');
    expect(await codec.open(value, NOW_S)).toMatchObject({ expiresAtS: claims.exp });
    expect(await codec.open(forged, NOW_S)).toBeUndefined();
    expect(await readTransactionCookies(codec, names, { [name]: forged }, NOW_S)).toEqual([present(name)]);
  });

  it('reads the __Host- prefixed names of an https origin', async () => {
    const secureNames = cookieNames(true);
    const value = await codec.seal(txn('s'), NOW_S + 60);
    const name = transactionCookieName(secureNames, 's');
    expect(name.startsWith('__Host-bff_txn.')).toBe(true);
    expect(await readTransactionCookies(codec, secureNames, { [name]: value }, NOW_S)).toEqual([
      present(name, NOW_S + 60),
    ]);
  });
});

describe('boundReturnTo', () => {
  it('keeps a normalised returnTo up to the cap and sends a longer one to /', () => {
    const longest = `/${'a'.repeat(TXN_RETURN_TO_MAX_CHARS - 1)}`;
    expect(boundReturnTo(longest)).toBe(longest);
    expect(boundReturnTo(`${longest}a`)).toBe('/');
  });
});
