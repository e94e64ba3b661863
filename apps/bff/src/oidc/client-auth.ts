import type { BffConfig } from '@okta-bff/oidc';
import { importJWK, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';

/** The endpoints the BFF authenticates to as a client. */
export type ClientAuthEndpoint = 'token' | 'revocation' | 'par';

/** How to authenticate to each endpoint (the assertion's `aud` differs per endpoint). */
export type ClientAuthentication = Readonly<Record<ClientAuthEndpoint, oauth.ClientAuth>>;

/**
 * The client authentication of `CLIENT_AUTH_METHOD`, used for every call to the token endpoint
 * (code exchange, refresh), revocation and PAR:
 * - `client_secret_basic`: the secret in HTTP Basic, the same for every endpoint;
 * - `client_secret_post`: `client_id` and `client_secret` in the form body, no `Authorization`
 *   header. RFC 6749 §2.3.1 has Basic credentials form-encoded first, so a secret with `-` is sent
 *   as `%2D`; an IdP that does not decode them refuses it, and this method avoids the question;
 * - `private_key_jwt`: a fresh signed assertion per request (oauth4webapi's `PrivateKeyJwt`: new
 *   `jti`, `iat`, `exp`; `iss` = `sub` = client id) whose `aud` is exactly the URL of the endpoint
 *   it is sent to. Okta refuses any other audience ("The audience claim for client_assertion must
 *   be the endpoint invoked for the request"), while oauth4webapi puts the issuer there by default.
 *   Its `kid` header is the configured key's `kid` (`CLIENT_PRIVATE_KEY_ID`, or the JWK's); with
 *   none, there is no `kid` header and the IdP tries each key registered for the client.
 *
 * @see RFC 6749 §2.3.1; RFC 7523 §3; https://developer.okta.com/docs/guides/build-self-signed-jwt/java/main/
 */
export async function createClientAuthentication(
  config: Pick<BffConfig, 'clientAuthMethod' | 'clientSecret' | 'clientPrivateKey'>,
  as: oauth.AuthorizationServer,
): Promise<ClientAuthentication> {
  if (config.clientAuthMethod === 'client_secret_basic') {
    const basic = oauth.ClientSecretBasic(config.clientSecret);
    return { token: basic, revocation: basic, par: basic };
  }
  if (config.clientAuthMethod === 'client_secret_post') {
    const post = oauth.ClientSecretPost(config.clientSecret);
    return { token: post, revocation: post, par: post };
  }
  const configured = config.clientPrivateKey;
  if (!configured) throw new TypeError('private_key_jwt needs CLIENT_PRIVATE_KEY (checked by the config)');
  const key = (await importJWK(configured.jwk as JWK, configured.alg, { extractable: false })) as CryptoKey;
  const assertionFor = (endpoint: string | undefined): oauth.ClientAuth => {
    if (!endpoint) {
      // The IdP has no such endpoint, so nothing calls it; should anything try, it fails loudly.
      return () => {
        throw new TypeError('client authentication for an endpoint the IdP does not advertise');
      };
    }
    return oauth.PrivateKeyJwt(configured.kid === undefined ? { key } : { key, kid: configured.kid }, {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.aud = endpoint;
      },
    });
  };
  return {
    token: assertionFor(as.token_endpoint),
    revocation: assertionFor(as.revocation_endpoint),
    par: assertionFor(as.pushed_authorization_request_endpoint),
  };
}
