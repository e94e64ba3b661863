import { randomInt } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { CookieToSet } from '../http/cookie-header.ts';
import type { DpopKey } from '../oidc/dpop.ts';
import type { Transaction } from '../oidc/login.ts';
import { deriveKeyRing, type KeyRing } from '../sealing/keys.ts';
import { seal, unseal } from '../sealing/seal.ts';
import type { CookieNames } from '../session/store/cookies.ts';

/** Logins older than this cannot complete: the transaction cookie and its sealed payload expire. */
export const TXN_COOKIE_MAX_AGE_S = 600;

/**
 * Logins a browser may have in flight at once (one transaction cookie each): enough for two or
 * three tabs. The cookies have this many fixed names ({@link transactionSlotNames}) and one more
 * login replaces the oldest, so however many logins a page starts, in sequence or all at once, the
 * transaction cookies stay within a few kilobytes of the `Cookie` header and never push it past
 * the 8 KB that common proxies accept (nor Node's 16 KB, which answers 431 to every request).
 */
export const MAX_TXN_COOKIES = 3;

/**
 * The longest `returnTo` a transaction carries, counted after normalisation (percent-encoding
 * can make a 512-character input nine times longer). With it, one transaction cookie stays near
 * 1.1 KB, so {@link MAX_TXN_COOKIES} of them stay under 4 KB together.
 */
export const TXN_RETURN_TO_MAX_CHARS = 512;

/** A transaction that opened, with the expiry it was sealed with (authenticated, see {@link createTransactionCodec}). */
export interface OpenedTransaction {
  readonly transaction: Transaction;
  readonly expiresAtS: number;
}

/** Seals a login in flight into its cookie and opens it at the callback. */
export interface TransactionCodec {
  /**
   * `expiresAtS` may have a fraction: sealed as the login's start time plus
   * {@link TXN_COOKIE_MAX_AGE_S} to the millisecond, it orders logins started within one second.
   */
  seal(txn: Transaction, expiresAtS: number): Promise<string>;
  /** `undefined` when the value does not open: garbage, tampered, expired at `nowS`, or another key. */
  unseal(value: string, nowS?: number): Promise<Transaction | undefined>;
  /** Like {@link TransactionCodec.unseal}, with the sealed expiry, which orders logins by age. */
  open(value: string, nowS?: number): Promise<OpenedTransaction | undefined>;
}

/**
 * `purpose` salts the key (the transaction cookie's base name): a session key never opens it.
 *
 * The expiry travels in the JWE protected header, which AES-GCM authenticates as additional data:
 * once the value has opened, the `exp` read from that header is the one we sealed, so a browser
 * (or whoever planted a cookie in it) cannot make a transaction look younger than it is.
 *
 * @see RFC 7516 §5.1 step 14 (the protected header is the AAD)
 * @see RFC 7519 §2 (a NumericDate may be a non-integer)
 */
export function createTransactionCodec(secrets: readonly string[], purpose: string): TransactionCodec {
  const keys: KeyRing = deriveKeyRing(secrets, purpose);
  const open = async (value: string, nowS?: number): Promise<OpenedTransaction | undefined> => {
    const bytes = await unseal(value, keys, { nowS });
    const transaction = bytes && toTransaction(bytes);
    if (!transaction) return undefined;
    const { exp } = decodeProtectedHeader(value);
    return typeof exp === 'number' ? { transaction, expiresAtS: exp } : undefined;
  };
  return {
    seal: (txn, expiresAtS) => seal(Buffer.from(JSON.stringify(txn)), keys, expiresAtS),
    unseal: async (value, nowS) => (await open(value, nowS))?.transaction,
    open,
  };
}

function toTransaction(bytes: Uint8Array): Transaction | undefined {
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    // Sealed by us, so this only happens across an incompatible release: treat it as no login.
    return undefined;
  }
  const { state, nonce, codeVerifier, returnTo, dpopKey, stepUp } = p ?? {};
  if (
    typeof state !== 'string' ||
    typeof nonce !== 'string' ||
    typeof codeVerifier !== 'string' ||
    typeof returnTo !== 'string'
  ) {
    return undefined;
  }
  let transaction: Transaction = { state, nonce, codeVerifier, returnTo };
  if (dpopKey !== undefined) {
    if (typeof dpopKey !== 'object' || dpopKey === null || typeof (dpopKey as DpopKey).d !== 'string') {
      return undefined;
    }
    transaction = { ...transaction, dpopKey: dpopKey as DpopKey };
  }
  if (stepUp !== undefined) {
    const { acrValues, maxAgeS } = (stepUp ?? {}) as { acrValues?: unknown; maxAgeS?: unknown };
    if (!Array.isArray(acrValues) || !acrValues.every((v) => typeof v === 'string')) return undefined;
    if (maxAgeS !== undefined && typeof maxAgeS !== 'number') return undefined;
    transaction = { ...transaction, stepUp: { acrValues, maxAgeS } };
  }
  return transaction;
}

/** `returnTo` when it fits {@link TXN_RETURN_TO_MAX_CHARS}, else `/`, as for any other refused value. */
export function boundReturnTo(returnTo: string): string {
  return returnTo.length <= TXN_RETURN_TO_MAX_CHARS ? returnTo : '/';
}

/**
 * The transaction cookie must come back on the IdP's redirect: a top-level GET (query mode)
 * carries `SameSite=Lax` cookies, a cross-site POST (form_post) only `SameSite=None; Secure` ones.
 */
export function transactionAttributes(
  responseMode: 'query' | 'form_post',
  names: CookieNames,
  maxAgeS: number,
): Omit<CookieToSet, 'name' | 'value'> {
  return responseMode === 'form_post'
    ? { maxAgeS, sameSite: 'None', secure: true }
    : { maxAgeS, sameSite: 'Lax', secure: names.secure };
}

/**
 * The fixed names a transaction cookie can have, one slot per login in flight (`bff_txn.0` to
 * `bff_txn.2`, `__Host-` prefixed on an https origin). Any number of logins started at once, even
 * ones that never saw each other's cookies, write into these names only, so the browser can never
 * hold more than {@link MAX_TXN_COOKIES} of them.
 */
export function transactionSlotNames(names: CookieNames): string[] {
  return Array.from({ length: MAX_TXN_COOKIES }, (_, i) => `${names.txnPrefix}${i}`);
}

/** One slot as the request carried it. */
export interface TransactionSlot {
  readonly name: string;
  /** The login it holds; `undefined` when the request did not carry it, or its value does not open. */
  readonly opened: OpenedTransaction | undefined;
}

/** A slot that holds a login. */
export type HeldSlot = TransactionSlot & { readonly opened: OpenedTransaction };

const isHeld = (slot: TransactionSlot): slot is HeldSlot => slot.opened !== undefined;

/**
 * Opens every slot the request carries (at most {@link MAX_TXN_COOKIES} values, whatever else the
 * `Cookie` header holds), in slot order.
 */
export async function readTransactionSlots(
  codec: TransactionCodec,
  names: CookieNames,
  cookies: Readonly<Record<string, string>>,
  nowS: number,
): Promise<TransactionSlot[]> {
  return Promise.all(
    transactionSlotNames(names).map(async (name): Promise<TransactionSlot> => {
      const value = cookies[name];
      return { name, opened: value === undefined ? undefined : await codec.open(value, nowS) };
    }),
  );
}

/**
 * The slot a new login takes: an empty one (absent, or holding a value that does not open) chosen
 * at random, so that logins started at once spread over the free slots instead of all writing
 * the first; when every slot holds a login, the oldest one's.
 *
 * Age is the sealed expiry (all share one lifetime, so a later expiry is a later start), sealed to
 * the millisecond; logins as old as each other go by slot order. Not by the request's cookie order:
 * user agents sort cookies by creation time, and a replaced cookie may keep the creation time of
 * the one it replaced.
 *
 * @param pickIndex a uniform choice in `[0, count)`; injectable so tests can be exact.
 * @see RFC 6265 §5.3 step 11 (an overwritten cookie keeps its creation time)
 */
export function chooseTransactionSlot(
  slots: readonly TransactionSlot[],
  pickIndex: (count: number) => number = (count) => randomInt(count),
): TransactionSlot {
  const empty = slots.filter((slot) => !isHeld(slot));
  const chosen =
    empty.length > 0
      ? empty[pickIndex(empty.length)]
      : slots
          .filter(isHeld)
          .reduce<HeldSlot | undefined>(
            (oldest, slot) => (oldest && oldest.opened.expiresAtS <= slot.opened.expiresAtS ? oldest : slot),
            undefined,
          );
  if (!chosen) throw new TypeError('no slot to choose from, or a pick outside the free ones');
  return chosen;
}

/**
 * The slot whose login has this `state`, which is how the callback finds its own. `state` is not a
 * secret from the browser, so a plain comparison will do; what makes it unforgeable is that the
 * transaction opened, i.e. this BFF sealed it.
 */
export function findTransaction(slots: readonly TransactionSlot[], state: string): HeldSlot | undefined {
  return slots.filter(isHeld).find((slot) => slot.opened.transaction.state === state);
}

/**
 * A cookie name a `Set-Cookie` header can carry (a token). The parser accepts a wider
 * set, and a planted name outside it cannot be deleted: it is left to expire rather than fail the login.
 *
 * @see RFC 6265 §4.1.1 (cookie-name is a token); RFC 9110 §5.6.2 (tchar)
 */
const SETTABLE_COOKIE_NAME = /^[\w!#$%&'*.^`|~+-]+$/;

/**
 * Transaction cookies under any name but a slot's: those of releases that named each one after a
 * hash of its `state`, and anything planted under the prefix. They are never read, only deleted,
 * so an upgrade leaves none behind.
 */
export function staleTransactionCookies(
  names: CookieNames,
  cookies: Readonly<Record<string, string>>,
): string[] {
  const slots = new Set(transactionSlotNames(names));
  return Object.keys(cookies).filter(
    (name) => name.startsWith(names.txnPrefix) && !slots.has(name) && SETTABLE_COOKIE_NAME.test(name),
  );
}
