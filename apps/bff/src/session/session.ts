import { randomBytes } from 'node:crypto';
import type { UserClaims } from '@okta-bff/oidc';
import type { JWTPayload } from 'jose';
import { COOKIE_PURPOSE } from './cookies.ts';
import { deriveKeyRing, type KeyRing } from './keys.ts';
import { seal, unseal } from './seal.ts';

/**
 * What a signed-in browser's cookie holds, sealed. Only the BFF ever reads it.
 */
export interface Session {
  /** Random id: names the session in logs and keys its refresh lock. Not a secret. */
  readonly sid: string;
  readonly user: UserClaims;
  readonly accessToken: string;
  /** Epoch seconds. */
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  /** Kept for `id_token_hint` at logout (Okta requires it). */
  readonly idToken: string | undefined;
  readonly scope: string | undefined;
  /** Absolute end of the session, epoch seconds: no refresh extends it. */
  readonly expiresAt: number;
}

/** A login in flight, bound to one browser by its cookie. */
export interface Transaction {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

/**
 * Seals and opens sessions and transactions. An interface so that a server-side store (Redis)
 * can later stand behind the same calls without the routes changing.
 */
export interface SessionCodec {
  sealSession(session: Session): Promise<string>;
  unsealSession(value: string): Promise<Session | undefined>;
  sealTransaction(txn: Transaction, expiresAtS: number): Promise<string>;
  unsealTransaction(value: string): Promise<Transaction | undefined>;
}

export function createSessionCodec(secrets: readonly string[]): SessionCodec {
  const sessionKeys: KeyRing = deriveKeyRing(secrets, COOKIE_PURPOSE.session);
  const txnKeys: KeyRing = deriveKeyRing(secrets, COOKIE_PURPOSE.transaction);
  return {
    sealSession: (session) => seal({ ...session } as unknown as JWTPayload, sessionKeys, session.expiresAt),
    unsealSession: async (value) => toSession(await unseal(value, sessionKeys)),
    sealTransaction: (txn, expiresAtS) => seal({ ...txn }, txnKeys, expiresAtS),
    unsealTransaction: async (value) => toTransaction(await unseal(value, txnKeys)),
  };
}

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

const isString = (v: unknown): v is string => typeof v === 'string';
const optionalString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

/** Shape-checks an opened payload: a cookie from an older release must not crash a route. */
function toSession(p: JWTPayload | undefined): Session | undefined {
  if (!p) return undefined;
  const user = p.user as UserClaims | undefined;
  if (
    !isString(p.sid) ||
    !user ||
    typeof user !== 'object' ||
    !isString(user.sub) ||
    !isString(p.accessToken) ||
    typeof p.accessTokenExpiresAt !== 'number' ||
    typeof p.expiresAt !== 'number' ||
    !optionalString(p.refreshToken) ||
    !optionalString(p.idToken) ||
    !optionalString(p.scope)
  ) {
    return undefined;
  }
  return {
    sid: p.sid,
    user,
    accessToken: p.accessToken,
    accessTokenExpiresAt: p.accessTokenExpiresAt,
    refreshToken: p.refreshToken,
    idToken: p.idToken,
    scope: p.scope,
    expiresAt: p.expiresAt,
  };
}

function toTransaction(p: JWTPayload | undefined): Transaction | undefined {
  if (!p || !isString(p.state) || !isString(p.nonce) || !isString(p.codeVerifier) || !isString(p.returnTo)) {
    return undefined;
  }
  return { state: p.state, nonce: p.nonce, codeVerifier: p.codeVerifier, returnTo: p.returnTo };
}
