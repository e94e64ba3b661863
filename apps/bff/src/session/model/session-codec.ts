import { deriveKeyRing, type KeyRing } from '../../sealing/keys.ts';
import { seal, unseal } from '../../sealing/seal.ts';
import type { Session } from './session.ts';
import { decodeSession, encodeSession } from './session-payload.ts';

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
