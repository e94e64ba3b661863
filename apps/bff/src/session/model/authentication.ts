import { decodeJwt } from 'jose';
import type { Session } from './session.ts';

/**
 * How and when the session's user authenticated: the `acr` and `auth_time` of its ID token
 * (OpenID Connect Core §2), which the session keeps sealed. The token was verified when it was
 * received (at sign-in, or at a refresh that replaced it), so it is only decoded here. Okta keeps
 * both claims in the ID tokens of a refresh; a session without an ID token has neither.
 */
export interface Authentication {
  readonly acr: string | undefined;
  /** Epoch seconds. */
  readonly authTimeS: number | undefined;
}

const NONE: Authentication = Object.freeze({ acr: undefined, authTimeS: undefined });
/** Decoded once per session object (a refreshed session is a new object). */
const decoded = new WeakMap<Session, Authentication>();

export function authenticationOf(session: Session): Authentication {
  let found = decoded.get(session);
  if (!found) {
    found = NONE;
    if (session.idToken !== undefined) {
      try {
        const { acr, auth_time: authTime } = decodeJwt(session.idToken);
        found = {
          acr: typeof acr === 'string' ? acr : undefined,
          authTimeS: typeof authTime === 'number' ? authTime : undefined,
        };
      } catch {
        // Sealed by us after verification: only an ID token of another format would not decode.
        found = NONE;
      }
    }
    decoded.set(session, found);
  }
  return found;
}
