import { decodeProtectedHeader } from 'jose';
import { ID_TOKEN_CLOCK_SKEW_S, ID_TOKEN_MAX_AGE_S, verifyIdpJwt } from './id-token.ts';
import type { Idp } from './idp.ts';
import { InvalidIdpAnswerError } from './idp-failure.ts';

/**
 * The `typ` values a logout token may carry (compared without case, as media types are): the
 * explicit type §2.4 recommends, and plain `JWT`, which Keycloak, Glewlwyd and others send. The
 * spec recommends explicit typing; it does not make a relying party refuse `JWT`, and the
 * `events` member and the absent `nonce` already keep an ID token from passing for a logout
 * token. Any other type (an access token's `at+jwt`, a DPoP proof's `dpop+jwt`) is refused.
 */
const LOGOUT_TOKEN_TYPES: ReadonlySet<string> = new Set(['logout+jwt', 'application/logout+jwt', 'jwt']);

/** The `events` member that makes a JWT a back-channel logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a valid logout token asks for. */
export interface LogoutRequest {
  /** The IdP session to end, when given. */
  readonly sid: string | undefined;
  /** The user whose sessions to end (all of them when `sid` is absent). */
  readonly sub: string | undefined;
  /** Unique id: a second token with the same one is a replay. */
  readonly jti: string;
  /** Until when the `jti` must be remembered (epoch seconds). */
  readonly rememberUntil: number;
}

/**
 * Validates a back-channel logout token, every rule of OpenID Connect Back-Channel Logout 1.0
 * §2.6: the signature against the discovered JWKS with the algorithm pinned (RS256, as for ID
 * tokens: no `none`, no HMAC keyed with a public key), `iss`, `aud` containing our client id,
 * `iat` (not in the future, not older than ID tokens may be), `exp` when present, the
 * back-channel-logout member in `events`, `sid` and/or `sub`, no `nonce` (so an ID token can never
 * pass for a logout token), and a `typ`, when one is given, of `logout+jwt` or `JWT` (§2.4).
 * The `jti` replay check is the caller's (it needs the session store).
 *
 * @throws when the token is not a valid logout token (the reason is in the message; never echo the token).
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
 */
export async function validateLogoutToken(idp: Idp, token: string, nowS: number): Promise<LogoutRequest> {
  const typ = decodeProtectedHeader(token).typ;
  if (typ !== undefined && !LOGOUT_TOKEN_TYPES.has(String(typ).toLowerCase())) {
    throw new InvalidIdpAnswerError(`typ "${String(typ).slice(0, 30)}" is neither logout+jwt nor JWT`);
  }
  const payload = await verifyIdpJwt(idp, token, nowS, ['iat', 'jti', 'events']);
  const events = payload.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidIdpAnswerError('events has no back-channel logout member');
  }
  if ('nonce' in payload) throw new InvalidIdpAnswerError('a logout token must not carry a nonce');
  const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
  const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
  if (sid === undefined && sub === undefined) throw new InvalidIdpAnswerError('neither sid nor sub');
  if (typeof payload.jti !== 'string' || payload.jti.length === 0)
    throw new InvalidIdpAnswerError('jti is not a string');
  const rememberUntil = Math.max(
    payload.exp ?? 0,
    (payload.iat ?? nowS) + ID_TOKEN_MAX_AGE_S + 2 * ID_TOKEN_CLOCK_SKEW_S,
  );
  return { sid, sub, jti: payload.jti, rememberUntil };
}
