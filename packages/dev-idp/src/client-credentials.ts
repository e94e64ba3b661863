/**
 * The client-credentials grant (RFC 6749 §4.4) as an Okta custom authorization server answers it:
 * a JWT access token for the server's one audience, whose subject is the client itself
 * (`sub` = `cid` = the client id, no `uid`), for the server's custom scopes only.
 *
 * Okta refuses, with `invalid_scope`, a client-credentials request for any scope it does not
 * know, for its reserved OpenID Connect scopes (`openid`, `profile`, `email`, `address`, `phone`,
 * `offline_access`, `device_sso`: there is no user to release claims of, nor to stay signed in),
 * and one without `scope` when the server has no default scopes (the dev IdP has none). The dev
 * IdP's own `groups` scope releases a user's groups, so it is refused here too: only the custom
 * scopes ({@link CUSTOM_SCOPES}, or `DevIdpOptions.customScopes`) are granted to a client.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://developer.okta.com/docs/guides/implement-grant-type/clientcreds/main/
 * @see https://developer.okta.com/docs/reference/api/oidc/#scopes
 */
import { errors } from 'oidc-provider';

/**
 * The dev authorization server's custom scopes (Okta: Security → API → the server's Scopes tab):
 * what a client may ask for with client credentials. `items:stats` is the sample API's
 * statistics, the scope of the BFF's `token: "client"` dev route.
 */
export const CUSTOM_SCOPES: readonly string[] = Object.freeze(['items:stats']);

/** Okta's reserved scopes: never granted to a client on its own behalf. */
const RESERVED_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'profile',
  'email',
  'address',
  'phone',
  'offline_access',
  'device_sso',
]);

/** A scope token (RFC 6749 §3.3: printable ASCII but space, `"` and `\`). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Refuses a client-credentials `scope` parameter as Okta does: every value must be one of
 * `customScopes`, and there must be one. Thrown as oidc-provider's `InvalidScope`, which the token
 * endpoint answers `400 {"error":"invalid_scope"}` (and records as a token error).
 */
export function checkClientCredentialsScope(scope: unknown, customScopes: readonly string[]): void {
  const requested = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
  if (requested.length === 0) {
    throw new errors.InvalidScope(
      "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
      '',
    );
  }
  for (const value of requested) {
    if (customScopes.includes(value)) continue;
    throw new errors.InvalidScope(
      RESERVED_SCOPES.has(value)
        ? `The scope '${value}' is not allowed for the client credentials grant.`
        : `One or more scopes are not configured for the authorization server resource: '${value}'.`,
      value,
    );
  }
}
