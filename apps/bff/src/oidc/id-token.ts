import { decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { Idp } from './idp.ts';
import { InvalidIdpAnswerError } from './idp-failure.ts';

/** Clock difference tolerated between us and the IdP for `iat` and `exp`. */
export const ID_TOKEN_CLOCK_SKEW_S = 60;
/**
 * An ID token issued longer ago than this (plus the skew) is refused even while its `exp` holds:
 * a fresh login or refresh gets a fresh token, so an old one is a replay.
 */
export const ID_TOKEN_MAX_AGE_S = 300;

/**
 * Verifies an ID token from the token endpoint, at login or refresh: the signature against the
 * discovered JWKS (jose refetches it on an unknown `kid`), RS256 only, `iss`, `aud` exactly our
 * client id and nothing else, `iat` neither in the future nor older than {@link ID_TOKEN_MAX_AGE_S}.
 * oauth4webapi validates the other claims but not the signature (the TLS channel authenticates
 * it, OIDC Core §3.1.3.7 step 6); we check it anyway.
 *
 * @returns the verified claims.
 * @throws jose's errors (or an {@link InvalidIdpAnswerError}) when the token is not acceptable.
 * @see OpenID Connect Core §3.1.3.7, §12.2 (refresh: ID token rules)
 */
export async function verifyIdToken(idp: Idp, idToken: string, nowS: number): Promise<JWTPayload> {
  const payload = await verifyIdpJwt(idp, idToken, nowS, ['iat', 'exp', 'sub']);
  const aud = payload.aud;
  if (
    Array.isArray(aud) ? aud.length !== 1 || aud[0] !== idp.client.client_id : aud !== idp.client.client_id
  ) {
    throw new InvalidIdpAnswerError('the ID token has audiences other than this client');
  }
  return payload;
}

/**
 * The checks every JWT the IdP signs for this client gets (ID tokens, logout tokens): the
 * signature against the discovered JWKS (jose refetches it on an unknown `kid`) with the algorithm
 * pinned to RS256 (no `none`, no HMAC keyed with a public key), `iss`, `aud` containing our client
 * id, `exp` when present, and `iat` neither in the future nor older than {@link ID_TOKEN_MAX_AGE_S}
 * (plus {@link ID_TOKEN_CLOCK_SKEW_S}).
 */
export async function verifyIdpJwt(
  idp: Idp,
  token: string,
  nowS: number,
  requiredClaims: readonly string[],
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, idp.jwks, {
    algorithms: ['RS256'],
    issuer: idp.as.issuer,
    audience: idp.client.client_id,
    requiredClaims: [...requiredClaims],
    maxTokenAge: ID_TOKEN_MAX_AGE_S,
    clockTolerance: ID_TOKEN_CLOCK_SKEW_S,
    currentDate: new Date(nowS * 1000),
  });
  if ((payload.iat ?? 0) > nowS + ID_TOKEN_CLOCK_SKEW_S)
    throw new InvalidIdpAnswerError('the token was issued in the future');
  return payload;
}

/**
 * OpenID Connect Core §12.2: an ID token returned by a refresh must name the same issuer, subject
 * and audience as the session's original one (and its signature must verify, as at login).
 *
 * @throws when the refreshed token is not acceptable for this session.
 */
export async function verifyRefreshedIdToken(
  idp: Idp,
  idToken: string,
  original: { readonly idToken: string | undefined; readonly sub: string },
  nowS: number,
): Promise<void> {
  const claims = await verifyIdToken(idp, idToken, nowS);
  const before = original.idToken ? decodeJwt(original.idToken) : undefined;
  if (claims.sub !== original.sub)
    throw new InvalidIdpAnswerError('the refreshed ID token names another subject');
  if (before && (claims.iss !== before.iss || !sameAudience(claims.aud, before.aud))) {
    throw new InvalidIdpAnswerError('the refreshed ID token names another issuer or audience');
  }
}

function sameAudience(a: JWTPayload['aud'], b: JWTPayload['aud']): boolean {
  const list = (v: JWTPayload['aud']) => (Array.isArray(v) ? [...v].sort() : v === undefined ? [] : [v]);
  const [x, y] = [list(a), list(b)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
