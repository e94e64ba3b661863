/**
 * The dev IdP's registered clients: the default confidential web client (client_secret_basic,
 * Bearer tokens, exactly what the tutorial's Okta app is), a second one for the hardened
 * options (`private_key_jwt`, DPoP, PAR) and, for tests, a `client_secret_post` one, all in
 * oidc-provider's (= RFC 7591) metadata shape. Each may also use the client-credentials grant,
 * for the BFF's own tokens (`token: "client"` API routes).
 */
import { DEFAULT_REDIRECT_URL, DEV_IDP } from '@okta-bff/oidc';
import type { JWK } from 'jose';
import type { ClientMetadata } from 'oidc-provider';

/** URIs of the default dev client, overridable for `pnpm dev` with other ports. */
export interface DevClientUris {
  redirectUris?: readonly string[];
  postLogoutRedirectUris?: readonly string[];
  /**
   * Where the IdP POSTs logout tokens; by default the BFF's `/auth/backchannel-logout` on the
   * origin of the first redirect URI. `null` registers none.
   */
  backchannelLogoutUri?: string | null;
  /**
   * What the IdP's logout page loads in an iframe; by default the BFF's `/auth/frontchannel-logout`
   * on the origin of the first redirect URI. `null` registers none.
   */
  frontchannelLogoutUri?: string | null;
}

/** The BFF's routes for the two logout channels (docs/http-contract.md). */
const BACKCHANNEL_LOGOUT_PATH = '/auth/backchannel-logout';
const FRONTCHANNEL_LOGOUT_PATH = '/auth/frontchannel-logout';

/**
 * The default confidential web client, with the public dev credentials from `@okta-bff/oidc`.
 *
 * It registers both logout channels with `…_session_required`, so its ID tokens carry `sid` and
 * its logout notifications name the session. Okta itself sends no back-channel logout; an Okta
 * app gets front-channel notifications only when its admin turns on Single Logout with a
 * "Logout redirect URI" (Okta's name for `frontchannel_logout_uri`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCRegistration
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#RPLogout
 */
export function createDevClient({
  redirectUris = [DEFAULT_REDIRECT_URL],
  postLogoutRedirectUris = [new URL('/', DEFAULT_REDIRECT_URL).href],
  backchannelLogoutUri = redirectUris[0] && new URL(BACKCHANNEL_LOGOUT_PATH, redirectUris[0]).href,
  frontchannelLogoutUri = redirectUris[0] && new URL(FRONTCHANNEL_LOGOUT_PATH, redirectUris[0]).href,
}: DevClientUris = {}): ClientMetadata {
  return {
    client_id: DEV_IDP.clientId,
    client_secret: DEV_IDP.clientSecret,
    client_name: 'okta-bff (dev)',
    token_endpoint_auth_method: 'client_secret_basic',
    // `client_credentials`: the BFF's own tokens for `token: "client"` API routes (Okta: the
    // app's "Client Credentials" grant type, allowed for a web app).
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [...redirectUris],
    post_logout_redirect_uris: [...postLogoutRedirectUris],
    ...(backchannelLogoutUri
      ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    ...(frontchannelLogoutUri
      ? { frontchannel_logout_uri: frontchannelLogoutUri, frontchannel_logout_session_required: true }
      : {}),
  };
}

/**
 * The dev client for apps served at `origins` (e.g. a BFF on a test port): each origin's
 * `/authorization-code/callback` as sign-in redirect and its `/` as sign-out redirect, the URIs
 * an Okta app following the tutorial registers, and the first origin's
 * `/auth/backchannel-logout` and `/auth/frontchannel-logout` as logout channels (a client has
 * one of each).
 */
export function createDevClientFor(...origins: readonly string[]): ClientMetadata {
  return createDevClient(urisFor(origins));
}

/** The URIs {@link createDevClientFor} registers for apps served at `origins`. */
function urisFor(origins: readonly string[]): DevClientUris {
  const callbackPath = new URL(DEFAULT_REDIRECT_URL).pathname;
  const [first] = origins;
  return {
    redirectUris: origins.map((origin) => new URL(callbackPath, origin).href),
    postLogoutRedirectUris: origins.map((origin) => new URL('/', origin).href),
    backchannelLogoutUri: first === undefined ? null : new URL(BACKCHANNEL_LOGOUT_PATH, first).href,
    frontchannelLogoutUri: first === undefined ? null : new URL(FRONTCHANNEL_LOGOUT_PATH, first).href,
  };
}

/**
 * Client id of the second dev client, {@link createSecureDevClient}. It has no secret: point
 * the BFF at it with `CLIENT_ID=0oadevbffsecure0000`, `CLIENT_AUTH_METHOD=private_key_jwt` and
 * `CLIENT_PRIVATE_KEY` (the private half of the registered JWKS). The default client's id stays
 * `DEV_IDP.clientId` in `@okta-bff/oidc`.
 */
export const DEV_SECURE_CLIENT_ID = '0oadevbffsecure0000';

/** Options of {@link createSecureDevClient}. */
export interface SecureDevClientOptions extends DevClientUris {
  /**
   * The client's public keys, against which its `client_assertion`s are verified (Okta: the app's
   * "Public keys"). Private members (`d`, …) are refused at start.
   */
  jwks: { readonly keys: readonly JWK[] };
  /**
   * `dpop_bound_access_tokens` (RFC 9449 §5.2): every token request must carry a DPoP proof, and
   * access tokens are DPoP-bound (`token_type: DPoP`, `cnf.jkt`). Okta's "Require Demonstrating
   * Proof of Possession (DPoP) header in token requests". Default true.
   */
  dpopBoundAccessTokens?: boolean;
  /**
   * `require_pushed_authorization_requests` (RFC 9126 §6): `/v1/authorize` refuses requests not
   * pushed to `/v1/par` first. Okta's "Require Pushed Authorization Request". Default false, so
   * the client also works with `OKTA_USE_PAR=false`.
   */
  requirePushedAuthorizationRequests?: boolean;
}

/**
 * The second dev client: confidential, authenticated with `private_key_jwt` (no secret at all),
 * DPoP-bound access tokens, optionally PAR-only; the same redirect, post-logout and logout
 * channel URIs as {@link createDevClient}, and the `refresh_token` and `client_credentials`
 * grants (with `dpopBoundAccessTokens`, client-credentials requests need a DPoP proof too).
 *
 * Its refresh tokens are not bound to the DPoP key: oidc-provider binds them for public clients
 * only, as RFC 9449 §5 allows (a confidential client's refresh token is already bound to its
 * credentials). With `dpopBoundAccessTokens` every refresh still needs a proof, and the new
 * access token is bound to that proof's key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc9126#section-6
 * @see https://developer.okta.com/docs/guides/dpop/nonoktaresourceserver/main/
 */
export function createSecureDevClient({
  jwks,
  dpopBoundAccessTokens = true,
  requirePushedAuthorizationRequests = false,
  ...uris
}: SecureDevClientOptions): ClientMetadata {
  const { client_secret: _noSecret, token_endpoint_auth_method: _basic, ...shared } = createDevClient(uris);
  return {
    ...shared,
    client_id: DEV_SECURE_CLIENT_ID,
    client_name: 'okta-bff (dev, private_key_jwt + DPoP)',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: jwks.keys.map((key) => ({ ...key })) } as ClientMetadata['jwks'],
    dpop_bound_access_tokens: dpopBoundAccessTokens,
    require_pushed_authorization_requests: requirePushedAuthorizationRequests,
  };
}

/**
 * {@link createSecureDevClient} for apps served at `origins`, with the URIs
 * {@link createDevClientFor} registers for them.
 *
 * @example startDevIdp({ clients: [createDevClientFor(origin), createSecureDevClientFor(jwks, origin)] })
 */
export function createSecureDevClientFor(
  jwks: SecureDevClientOptions['jwks'],
  ...origins: readonly string[]
): ClientMetadata {
  return createSecureDevClient({ jwks, ...urisFor(origins) });
}

/**
 * Client id of the `client_secret_post` dev client, {@link createPostSecretDevClient}: point the
 * BFF at it with `CLIENT_ID=0oadevbffpost000000`, `CLIENT_AUTH_METHOD=client_secret_post` and
 * `CLIENT_SECRET=`{@link DEV_POST_CLIENT_SECRET}.
 */
export const DEV_POST_CLIENT_ID = '0oadevbffpost000000';

/**
 * The `client_secret_post` dev client's secret. It holds `-` and characters that HTTP Basic
 * form-encodes first (RFC 6749 §2.3.1: `:` `/` `+` `=` `~` `!` …), the secrets an IdP that does
 * not decode Basic credentials refuses; in the form body they travel as any form value does.
 */
export const DEV_POST_CLIENT_SECRET = "dev-post_secret.with:colon/slash+plus=equals~tilde!star*'(paren)";

/**
 * A dev client registered for `client_secret_post` (the secret in the form body), otherwise
 * {@link createDevClient}'s: Bearer tokens, the same URIs and grants. oidc-provider accepts either
 * secret method from a secret client, so tests tell them apart by the IdP's records
 * (`events.clientAuthentications[].method`). For tests: `pnpm dev` does not register it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/#client-secret
 */
export function createPostSecretDevClient(uris: DevClientUris = {}): ClientMetadata {
  return {
    ...createDevClient(uris),
    client_id: DEV_POST_CLIENT_ID,
    client_secret: DEV_POST_CLIENT_SECRET,
    client_name: 'okta-bff (dev, client_secret_post)',
    token_endpoint_auth_method: 'client_secret_post',
  };
}

/** {@link createPostSecretDevClient} for apps served at `origins`, with {@link createDevClientFor}'s URIs. */
export function createPostSecretDevClientFor(...origins: readonly string[]): ClientMetadata {
  return createPostSecretDevClient(urisFor(origins));
}
