import { randomBytes } from 'node:crypto';
import type { UserClaims } from '@okta-bff/oidc';
import type { JWK } from 'jose';

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

/** A new random session id (128 bits). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
