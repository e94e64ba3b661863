import { createHash } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { CookieToSet } from '../http/cookie-header.ts';
import type { Transaction } from '../oidc/login.ts';
import { deriveKeyRing, type KeyRing } from '../sealing/keys.ts';
import { seal, unseal } from '../sealing/seal.ts';
import type { CookieNames } from '../session/store/cookies.ts';

/** Logins older than this cannot complete: the transaction cookie and its sealed payload expire. */
export const TXN_COOKIE_MAX_AGE_S = 600;

/**
 * Logins a browser may have in flight at once (one transaction cookie each): enough for two or
 * three tabs. Setting one more drops the oldest, so however many logins a page starts, the
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
  const { state, nonce, codeVerifier, returnTo } = p ?? {};
  if (
    typeof state !== 'string' ||
    typeof nonce !== 'string' ||
    typeof codeVerifier !== 'string' ||
    typeof returnTo !== 'string'
  ) {
    return undefined;
  }
  return { state, nonce, codeVerifier, returnTo };
}

/** `returnTo` when it fits {@link TXN_RETURN_TO_MAX_CHARS}, else `/`, as for any other refused value. */
export function boundReturnTo(returnTo: string): string {
  return returnTo.length <= TXN_RETURN_TO_MAX_CHARS ? returnTo : '/';
}

/**
 * Names the transaction cookie after a hash of its `state`, so several logins (tabs) can be in
 * flight at once and the callback finds its own without trusting anything else from the URL.
 */
export function transactionCookieName(names: CookieNames, state: string): string {
  return `${names.txnPrefix}${createHash('sha256').update(state).digest('base64url').slice(0, 22)}`;
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

/** A transaction cookie the browser sent, as much as choosing which to drop needs. */
export interface PresentTransaction {
  readonly name: string;
  /** Its sealed expiry; `undefined` when it does not open or is not the login its name says. */
  readonly expiresAtS: number | undefined;
}

/**
 * A cookie name a `Set-Cookie` header can carry (a token). The parser accepts a wider
 * set, and a planted name outside it cannot be deleted: it is left to expire rather than fail the login.
 *
 * @see RFC 6265 §4.1.1 (cookie-name is a token); RFC 9110 §5.6.2 (tchar)
 */
const SETTABLE_COOKIE_NAME = /^[\w!#$%&'*.^`|~+-]+$/;

/**
 * Opens every transaction cookie of the request, to learn which logins are in flight and how old
 * they are. A value that opens under another cookie's name is not that login: it counts as garbage.
 * The work is bounded by the size of the request's headers (16 KB in Node).
 */
export async function readTransactionCookies(
  codec: TransactionCodec,
  names: CookieNames,
  cookies: Readonly<Record<string, string>>,
  nowS: number,
): Promise<PresentTransaction[]> {
  const present = Object.entries(cookies).filter(
    ([name]) => name.startsWith(names.txnPrefix) && SETTABLE_COOKIE_NAME.test(name),
  );
  return Promise.all(
    present.map(async ([name, value]): Promise<PresentTransaction> => {
      const opened = await codec.open(value, nowS);
      const genuine = opened && transactionCookieName(names, opened.transaction.state) === name;
      return { name, expiresAtS: genuine ? opened.expiresAtS : undefined };
    }),
  );
}

/**
 * The transaction cookies to delete when a new login is set beside `present` (in the `Cookie`
 * header's order): every one that does not open, and the oldest of the rest so that with the new
 * one at most {@link MAX_TXN_COOKIES} remain.
 *
 * Age is the sealed expiry (all share one lifetime, so a later expiry is a later start); it has
 * one-second resolution, and logins started within the same second keep the header's order, which
 * user agents sort oldest first.
 *
 * @see RFC 6265 §5.4 step 2 (user agents send older cookies first)
 */
export function transactionCookiesToDrop(
  present: readonly PresentTransaction[],
  max: number = MAX_TXN_COOKIES,
): string[] {
  const unopened = present.filter((p) => p.expiresAtS === undefined).map((p) => p.name);
  const oldestFirst = present
    .map((p, headerIndex) => ({ ...p, headerIndex }))
    .filter((p): p is typeof p & { expiresAtS: number } => p.expiresAtS !== undefined)
    .sort((a, b) => a.expiresAtS - b.expiresAtS || a.headerIndex - b.headerIndex);
  const excess = Math.max(0, oldestFirst.length - (max - 1));
  return [...unopened, ...oldestFirst.slice(0, excess).map((p) => p.name)];
}
