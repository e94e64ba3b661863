import { describe, expect, it, vi } from 'vitest';
import type { Transaction } from '../oidc/login.ts';
import { COOKIE_PURPOSE, cookieNames } from '../session/store/cookies.ts';
import {
  boundReturnTo,
  chooseTransactionSlot,
  createTransactionCodec,
  findTransaction,
  MAX_TXN_COOKIES,
  readTransactionSlots,
  staleTransactionCookies,
  type TransactionSlot,
  TXN_COOKIE_MAX_AGE_S,
  TXN_RETURN_TO_MAX_CHARS,
  transactionSlotNames,
} from './transaction.ts';

const SECRET = 's'.repeat(32);
const NOW_S = 1_800_000_000;
const names = cookieNames(false);
const codec = createTransactionCodec([SECRET], COOKIE_PURPOSE.transaction);

const txn = (state: string): Transaction => ({ state, nonce: 'n', codeVerifier: 'v', returnTo: '/' });
/** The sealed value of a login started `ageS` seconds before {@link NOW_S}. */
const started = (state: string, ageS: number) => codec.seal(txn(state), NOW_S - ageS + TXN_COOKIE_MAX_AGE_S);
/** A slot holding a login with this sealed expiry, or an empty one. */
const slot = (name: string, expiresAtS?: number): TransactionSlot => ({
  name,
  opened: expiresAtS === undefined ? undefined : { transaction: txn(`state-${name}`), expiresAtS },
});
const flip = (v: string, i: number) => `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;

describe('transactionSlotNames', () => {
  it('are MAX_TXN_COOKIES fixed names under the prefix, __Host- prefixed on an https origin', () => {
    expect(MAX_TXN_COOKIES).toBe(3);
    expect(transactionSlotNames(names)).toEqual(['bff_txn.0', 'bff_txn.1', 'bff_txn.2']);
    expect(transactionSlotNames(cookieNames(true))).toEqual([
      '__Host-bff_txn.0',
      '__Host-bff_txn.1',
      '__Host-bff_txn.2',
    ]);
  });
});

describe('chooseTransactionSlot', () => {
  it('takes an empty slot, chosen among the empty ones only, whatever the live logins', () => {
    const slots = [slot('a', 100), slot('b'), slot('c')];
    const pick = vi.fn((count: number) => count - 1);
    expect(chooseTransactionSlot(slots, pick).name).toBe('c');
    expect(pick).toHaveBeenCalledWith(2);
    expect(chooseTransactionSlot(slots, () => 0).name).toBe('b');
    expect(chooseTransactionSlot([slot('a'), slot('b', 100), slot('c', 200)], () => 0).name).toBe('a');
  });

  it('spreads logins over the empty slots at random, so logins started at once do not all write one', () => {
    const chosen = new Set<string>();
    for (let i = 0; i < 200; i++) chosen.add(chooseTransactionSlot([slot('a'), slot('b'), slot('c')]).name);
    expect([...chosen].sort()).toEqual(['a', 'b', 'c']);
    const beside = new Set<string>();
    for (let i = 0; i < 200; i++)
      beside.add(chooseTransactionSlot([slot('a'), slot('b', 1), slot('c')]).name);
    expect([...beside].sort()).toEqual(['a', 'c']);
  });

  it('when every slot holds a login, takes the oldest by sealed expiry, not by slot order', () => {
    expect(chooseTransactionSlot([slot('a', 300), slot('b', 100), slot('c', 200)]).name).toBe('b');
    expect(chooseTransactionSlot([slot('a', 300), slot('b', 200), slot('c', 100)]).name).toBe('c');
  });

  it('orders logins within one second by the fraction of their expiry; equal ones by slot order', () => {
    expect(chooseTransactionSlot([slot('a', 100.9), slot('b', 100.005), slot('c', 100.04)]).name).toBe('b');
    expect(chooseTransactionSlot([slot('a', 100.007), slot('b', 100.007), slot('c', 200)]).name).toBe('a');
    expect(chooseTransactionSlot([slot('a', 200), slot('b', 100.007), slot('c', 100.007)]).name).toBe('b');
  });

  it('refuses to choose from no slot at all, or a pick outside the empty ones', () => {
    expect(() => chooseTransactionSlot([])).toThrow(TypeError);
    expect(() => chooseTransactionSlot([slot('a')], () => 1)).toThrow(TypeError);
  });
});

describe('readTransactionSlots', () => {
  it('opens the slots in slot order, each dated by its sealed expiry; everything else counts as empty', async () => {
    const young = await started('young', 10);
    const old = await started('old', 300);
    const cookies = {
      bff_session: 'not a transaction',
      'bff_txn.2': old,
      'bff_txn.0': young,
      // Earlier releases' per-state names are never read, however genuine.
      'bff_txn.Oy1q3v8m0WZfS2cM3KkGQw': young,
    };
    expect(await readTransactionSlots(codec, names, cookies, NOW_S)).toEqual([
      {
        name: 'bff_txn.0',
        opened: { transaction: txn('young'), expiresAtS: NOW_S - 10 + TXN_COOKIE_MAX_AGE_S },
      },
      { name: 'bff_txn.1', opened: undefined },
      {
        name: 'bff_txn.2',
        opened: { transaction: txn('old'), expiresAtS: NOW_S - 300 + TXN_COOKIE_MAX_AGE_S },
      },
    ]);
  });

  it.each<[string, () => Promise<string>]>([
    ['garbage', async () => 'garbage'],
    ['empty', async () => ''],
    ['tampered', async () => flip(await started('t', 10), 60)],
    ['expired', () => started('expired', TXN_COOKIE_MAX_AGE_S + 1)],
    [
      'sealed under another key',
      () => createTransactionCodec(['o'.repeat(32)], COOKIE_PURPOSE.transaction).seal(txn('x'), NOW_S + 60),
    ],
    [
      'sealed for another purpose',
      () => createTransactionCodec([SECRET], COOKIE_PURPOSE.session).seal(txn('x'), NOW_S + 60),
    ],
  ])('sees a slot holding a %s value as empty', async (_, value) => {
    const slots = await readTransactionSlots(codec, names, { 'bff_txn.1': await value() }, NOW_S);
    expect(slots.map((s) => s.opened)).toEqual([undefined, undefined, undefined]);
  });

  it('keeps the fraction of a sealed expiry, which orders logins started within one second', async () => {
    const value = await codec.seal(txn('precise'), NOW_S + 60.123);
    expect(await codec.open(value, NOW_S)).toEqual({
      transaction: txn('precise'),
      expiresAtS: NOW_S + 60.123,
    });
    expect(await codec.open(value, NOW_S + 60.124)).toBeUndefined();
  });

  it('cannot be made to see a login as younger: a rewritten expiry no longer opens', async () => {
    const value = await started('rewritten', 500);
    const [header, ...rest] = value.split('.');
    const claims = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8'));
    const younger = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 400 })).toString('base64url');
    const forged = [younger, ...rest].join('.');
    expect(await codec.open(value, NOW_S)).toMatchObject({ expiresAtS: claims.exp });
    expect(await codec.open(forged, NOW_S)).toBeUndefined();
    const [first] = await readTransactionSlots(codec, names, { 'bff_txn.0': forged }, NOW_S);
    expect(first).toEqual({ name: 'bff_txn.0', opened: undefined });
  });

  it('reads the __Host- prefixed slots of an https origin, and only those', async () => {
    const value = await codec.seal(txn('s'), NOW_S + 60);
    const slots = await readTransactionSlots(
      codec,
      cookieNames(true),
      { '__Host-bff_txn.1': value, 'bff_txn.0': value },
      NOW_S,
    );
    expect(slots.map((s) => [s.name, s.opened?.transaction.state])).toEqual([
      ['__Host-bff_txn.0', undefined],
      ['__Host-bff_txn.1', 's'],
      ['__Host-bff_txn.2', undefined],
    ]);
  });
});

describe('findTransaction', () => {
  it('finds the slot whose sealed state is the one asked for, among those that opened', () => {
    const slots = [slot('a', 100), slot('b'), slot('c', 200)];
    expect(findTransaction(slots, 'state-c')?.name).toBe('c');
    expect(findTransaction(slots, 'state-a')?.opened.expiresAtS).toBe(100);
    expect(findTransaction(slots, 'state-b')).toBeUndefined();
    expect(findTransaction(slots, 'another')).toBeUndefined();
    expect(findTransaction([], 'state-a')).toBeUndefined();
  });
});

describe('staleTransactionCookies', () => {
  it('names every transaction cookie that is not a slot, to be deleted, and nothing else', () => {
    const cookies = {
      other: 'kept',
      bff_session: 'kept',
      'bff_session.0': 'kept',
      'bff_txn.0': 'a slot',
      'bff_txn.2': 'a slot',
      'bff_txn.I1SF8yFXOYba8ozbxfWVm7': 'an earlier release’s',
      'bff_txn.garbage': 'planted',
      'bff_txn.3': 'not a slot',
      // The parser accepts this name but no Set-Cookie can carry it: left alone, not a crash.
      'bff_txn.a@b': 'x',
    };
    expect(staleTransactionCookies(names, cookies)).toEqual([
      'bff_txn.I1SF8yFXOYba8ozbxfWVm7',
      'bff_txn.garbage',
      'bff_txn.3',
    ]);
    expect(staleTransactionCookies(names, { other: 'kept', 'bff_txn.1': 'a slot' })).toEqual([]);
  });

  it('uses the __Host- prefixed names of an https origin', () => {
    const cookies = { '__Host-bff_txn.0': 'a slot', '__Host-bff_txn.old': 'x', 'bff_txn.old': 'x' };
    expect(staleTransactionCookies(cookieNames(true), cookies)).toEqual(['__Host-bff_txn.old']);
  });
});

describe('boundReturnTo', () => {
  it('keeps a normalised returnTo up to the cap and sends a longer one to /', () => {
    const longest = `/${'a'.repeat(TXN_RETURN_TO_MAX_CHARS - 1)}`;
    expect(boundReturnTo(longest)).toBe(longest);
    expect(boundReturnTo(`${longest}a`)).toBe('/');
  });
});
