import { createHash } from 'node:crypto';
import type { CookieToSet } from '../http/cookie-header.ts';
import type { Transaction } from '../oidc/login.ts';
import type { CookieNames } from '../session/cookies.ts';
import { deriveKeyRing, type KeyRing } from '../session/keys.ts';
import { seal, unseal } from '../session/seal.ts';

/** Logins older than this cannot complete: the transaction cookie and its sealed payload expire. */
export const TXN_COOKIE_MAX_AGE_S = 600;

/** Seals a login in flight into its cookie and opens it at the callback. */
export interface TransactionCodec {
  seal(txn: Transaction, expiresAtS: number): Promise<string>;
  unseal(value: string): Promise<Transaction | undefined>;
}

/** `purpose` salts the key (the transaction cookie's base name): a session key never opens it. */
export function createTransactionCodec(secrets: readonly string[], purpose: string): TransactionCodec {
  const keys: KeyRing = deriveKeyRing(secrets, purpose);
  return {
    seal: (txn, expiresAtS) => seal(Buffer.from(JSON.stringify(txn)), keys, expiresAtS),
    unseal: async (value) => {
      const bytes = await unseal(value, keys);
      return bytes && toTransaction(bytes);
    },
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
