/**
 * Logout tokens on demand, signed with the dev IdP's own key, so that tests of a client's
 * back-channel logout endpoint can send it valid tokens and deliberately broken ones (wrong
 * `aud`, no `events`, a `nonce`, expired, a foreign `kid`, …) without driving a browser through
 * a logout.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken
 */
import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, type JWTHeaderParameters, SignJWT } from 'jose';

/** The member of `events` that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What oidc-provider gives the logout tokens it sends itself. */
const LOGOUT_TOKEN_TTL_S = 120;

/** The only algorithm of the IdP's signing key. */
const SIGNING_ALG = 'RS256';

/**
 * Signs a logout token with the IdP's signing key. `claims` are merged over the defaults
 * (`iss`, `aud` = the first client's id, `iat` = now, `exp` = now + 120 s, a random `jti`, and
 * `events` with the back-channel logout member); a claim set to `undefined` is left out. The
 * same goes for `header` over `{ alg: 'RS256', kid, typ: 'logout+jwt' }`; `alg` must stay
 * `RS256`, the only algorithm the key has (a token with `alg: none` is easily written by hand).
 */
export type SignLogoutToken = (
  claims?: Readonly<Record<string, unknown>>,
  header?: Readonly<Record<string, unknown>>,
) => Promise<string>;

/** Input of {@link createLogoutTokenSigner}. */
export interface LogoutTokenSignerInput {
  readonly issuer: string;
  /** The default `aud`. */
  readonly clientId: string;
  /** The private key the IdP signs with and publishes (public part) at `/v1/keys`, with its `kid`. */
  readonly signingJwk: JWK;
}

/** Creates {@link SignLogoutToken} for one IdP. */
export function createLogoutTokenSigner({
  issuer,
  clientId,
  signingJwk,
}: LogoutTokenSignerInput): SignLogoutToken {
  if (typeof signingJwk.kid !== 'string')
    throw new TypeError('createLogoutTokenSigner: signingJwk needs a kid');
  let key: ReturnType<typeof importJWK> | undefined;

  return async function signLogoutToken(claims = {}, header = {}) {
    key ??= importJWK(signingJwk, SIGNING_ALG);
    const now = Math.floor(Date.now() / 1000);
    const payload = withoutUndefined({
      iss: issuer,
      aud: clientId,
      iat: now,
      exp: now + LOGOUT_TOKEN_TTL_S,
      jti: randomUUID(),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      ...claims,
    });
    const protectedHeader = withoutUndefined({
      alg: SIGNING_ALG,
      kid: signingJwk.kid,
      typ: 'logout+jwt',
      ...header,
    }) as JWTHeaderParameters;
    return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(await key);
  };
}

function withoutUndefined(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
