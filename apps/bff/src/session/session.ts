import { randomBytes } from 'node:crypto';
import type { UserClaims } from '@okta-bff/oidc';
import type { JWK } from 'jose';
import { deriveKeyRing, type KeyRing } from './keys.ts';
import { seal, unseal } from './seal.ts';
import { decodeSession, encodeSession } from './session-payload.ts';

/**
 * A signed-in user's session: what the session cookie holds, sealed. Only the BFF ever reads it.
 */
export interface Session {
  /**
   * Names the session in logs and keys its refresh: random (cookie store), or the Redis record's
   * keyed hash of the handle (Redis store; it does not open the session without the cookie).
   */
  readonly sid: string;
  /** The IdP's session id (`sid` of the ID token): front- and back-channel logout name it. */
  readonly idpSid: string | undefined;
  readonly user: UserClaims;
  readonly accessToken: string;
  /** Epoch seconds. */
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | undefined;
  /** Kept for `id_token_hint` at logout (Okta requires it). */
  readonly idToken: string | undefined;
  readonly scope: string | undefined;
  /**
   * With `API_TOKEN_TYPE=dpop`: the session's private DPoP key (a JWK), to which its tokens are
   * bound. Sealed with the session like the tokens; never in a log or a response.
   */
  readonly dpopKey?: Readonly<JWK>;
  /** Sign-in time, epoch seconds: a back-channel logout by user ends the sessions begun before it. */
  readonly createdAt: number;
  /**
   * Last use the store recorded, epoch seconds: the idle timeout counts from here. The cookie
   * store renews it every few minutes of activity; the Redis store keeps idleness in the key's TTL.
   */
  readonly lastSeenAt: number;
  /** Absolute end of the session, epoch seconds: no refresh or activity extends it. */
  readonly expiresAt: number;
}

/**
 * Seals sessions into a cookie value and opens them again. An interface so that the routes never
 * know how (or where) a session is kept.
 *
 * `boundTo` ties a sealed value to the place it is kept (a Redis record's key), as authenticated
 * data of the seal: it opens only with the same `boundTo`, so a value copied to another place
 * opens as no session. Cookies pass none (and a bound value never opens as a cookie).
 */
export interface SessionCodec {
  sealSession(session: Session, boundTo?: string): Promise<string>;
  unsealSession(value: string, boundTo?: string): Promise<Session | undefined>;
}

export interface SessionCodecOptions {
  /** `SESSION_SECRET`'s entries: the first seals, all unseal. */
  readonly secrets: readonly string[];
  /** HKDF salt: the session cookie's base name, so no other cookie's key opens a session. */
  readonly purpose: string;
  /** Which ID-token claims describe the user (they are kept once, see `session-payload.ts`). */
  readonly isUserClaim: (name: string) => boolean;
}

export function createSessionCodec({ secrets, purpose, isUserClaim }: SessionCodecOptions): SessionCodec {
  const keys: KeyRing = deriveKeyRing(secrets, purpose);
  return {
    sealSession: (session, boundTo) =>
      seal(encodeSession(session, isUserClaim), keys, session.expiresAt, boundTo),
    unsealSession: async (value, boundTo) => {
      const bytes = await unseal(value, keys, { boundTo });
      return bytes && decodeSession(bytes, isUserClaim);
    },
  };
}

/** A new random session id (128 bits). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
