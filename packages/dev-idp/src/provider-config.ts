/**
 * oidc-provider configuration that makes it behave like an Okta custom authorization server for
 * a first-party web app: Okta's `/v1/...` paths, PKCE required, JWT access tokens for one
 * audience with Okta's `scp`/`cid`/`uid`/`ver` claims (and `groups` when that scope is granted),
 * rotated refresh tokens, and no consent page; DPoP, pushed authorization requests (`/v1/par`)
 * and `private_key_jwt` with Okta's stricter assertion audience; the client-credentials grant for
 * the server's custom scopes (`client-credentials.ts`); Okta's `acr_values` with a one-time code
 * as the second factor (`step-up.ts`), and `acr`/`amr`/`auth_time` in every ID token.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/v9.x/docs/README.md
 * @see https://developer.okta.com/docs/concepts/auth-servers/#custom-authorization-server
 */
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { type ClientMetadata, type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { checkClientCredentialsScope } from './client-credentials.ts';
import {
  assertOktaClientAssertionAudience,
  CLIENT_AUTH_SIGNING_ALGS,
  DPOP_SIGNING_ALGS,
} from './client-security.ts';
import { FRONTCHANNEL_CLIENT_METADATA, validateFrontchannelMetadata } from './frontchannel-logout.ts';
import { buildInteractionPolicy } from './interactions.ts';
import { renderErrorPage } from './pages.ts';
import { OKTA_ACR_VALUES } from './step-up.ts';
import { CLAIMS_BY_SCOPE, type DevUser, findDevUser, SUPPORTED_SCOPES } from './users.ts';

/** Okta's route names under the issuer. */
export const OKTA_ROUTES = Object.freeze({
  authorization: '/v1/authorize',
  token: '/v1/token',
  userinfo: '/v1/userinfo',
  jwks: '/v1/keys',
  end_session: '/v1/logout',
  revocation: '/v1/revoke',
  introspection: '/v1/introspect',
  pushed_authorization_request: '/v1/par',
});

/** Everything the configuration depends on, resolved by `startDevIdp`. */
export interface ProviderConfigInput {
  readonly issuerPath: string;
  readonly clients: readonly ClientMetadata[];
  readonly users: readonly DevUser[];
  /** The RS256 private key, as a JWK with `kid`, `alg` and `use`. */
  readonly signingJwk: JWK;
  readonly audience: string;
  readonly accessTokenTtlS: number;
  readonly idTokenTtlS: number;
  readonly refreshTokenTtlS: number;
  /** Whether the token endpoint demands a server nonce in DPoP proofs (`use_dpop_nonce`). */
  readonly dpopNonce: boolean;
  /** The audience's custom scopes: all a client may ask for with client credentials. */
  readonly customScopes: readonly string[];
  /** Accept `acr_values` but sign in with the password alone (an IdP that ignores the request). */
  readonly ignoreAcrValues: boolean;
}

/**
 * Claims about the authentication itself, in every ID token whatever the scopes (oidc-provider
 * adds `auth_time` only on `max_age`, `prompt=login` or `require_auth_time`, and `acr` only on
 * `acr_values`): a client checking a step-up, or a session's age, can count on them.
 */
const AUTHENTICATION_CLAIMS = ['acr', 'amr', 'auth_time'] as const;

/**
 * The user's authentication behind a token request: the authorization code's, or the refresh
 * token's, which keeps the original one through every rotation (a refresh is no new sign-in).
 */
function authenticationOf(
  ctx: KoaContextWithOIDC | undefined,
): { acr?: string; authTime?: number } | undefined {
  const entities = ctx?.oidc?.entities;
  return entities?.AuthorizationCode ?? entities?.RefreshToken;
}

const AUTHORIZATION_CODE_TTL_S = 60;
const INTERACTION_TTL_S = 10 * 60;
const SESSION_TTL_S = 24 * 60 * 60;

/**
 * Okta's first-party behaviour: the signed-in user gets every supported scope the client asked
 * for, without a consent page. The grant is stored so refresh and revocation work on it.
 */
async function grantRequestedScopes(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  const client = oidc.client;
  if (!accountId || !client) return undefined;

  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  // A grant of another user (account switched within one session) must not be extended.
  const grant =
    existing?.accountId === accountId
      ? existing
      : new oidc.provider.Grant({ accountId, clientId: client.clientId });

  const requested = [...oidc.requestParamScopes].filter((scope) => SUPPORTED_SCOPES.includes(scope));
  grant.addOIDCScope(requested.join(' '));
  for (const indicator of Object.keys(oidc.resourceServers ?? {})) {
    grant.addResourceScope(indicator, requested.join(' '));
  }
  await grant.save();
  return grant;
}

/**
 * oidc-provider's `fetch` without its SSRF guard, which refuses loopback and private addresses:
 * the only URLs the dev IdP fetches are the back-channel logout URIs of its statically configured
 * clients (no dynamic registration), and those are on loopback (`pnpm dev`, tests).
 *
 * > [!WARNING]
 * > Lets the IdP POST to any address a configured client names. Acceptable only because every
 * > client is configured by the developer running it; a dev-only IdP.
 */
function fetchWithoutSsrfGuard(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const { dispatcher: _ssrfGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
  return globalThis.fetch(input, rest);
}

/** Builds the oidc-provider configuration. Cookie keys are random per start, as sessions are. */
export function buildProviderConfig(input: ProviderConfigInput): Configuration {
  const { audience, users, customScopes } = input;
  return {
    clients: input.clients.map((client) => ({ ...client })),
    jwks: { keys: [input.signingJwk as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    fetch: fetchWithoutSsrfGuard,
    // Front-Channel Logout 1.0 is not built into oidc-provider; `frontchannel-logout.ts` does it.
    extraClientMetadata: {
      properties: [...FRONTCHANNEL_CLIENT_METADATA],
      validator: validateFrontchannelMetadata,
    },
    discovery: {
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    },
    routes: OKTA_ROUTES,
    scopes: [...SUPPORTED_SCOPES],
    // The authorization code flow is all the BFF uses; no implicit or hybrid flows to reason about.
    responseTypes: ['code'],
    claims: Object.fromEntries(
      Object.entries(CLAIMS_BY_SCOPE).map(([scope, claims]) => [
        scope,
        scope === 'openid' ? [...claims, ...AUTHENTICATION_CLAIMS] : [...claims],
      ]),
    ),
    // Okta's values, advertised as `acr_values_supported`; the login prompt checks them
    // (`step-up.ts`), unless the IdP is told to ignore them.
    acrValues: [...OKTA_ACR_VALUES],
    // Okta puts profile claims in the ID token even when an access token is issued too.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // Okta's methods. A client uses the one it registered; `private_key_jwt` assertions must be
    // addressed to exactly the endpoint they are sent to, as Okta requires.
    clientAuthMethods: [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      'none',
    ],
    assertJwtClientAuthClaimsAndHeader: assertOktaClientAssertionAudience,
    enabledJWA: {
      clientAuthSigningAlgValues: [...CLIENT_AUTH_SIGNING_ALGS],
      dPoPSigningAlgValues: [...DPOP_SIGNING_ALGS],
    },
    // Okta rotates refresh tokens on every use when rotation is on; oidc-provider's default only
    // rotates after 70% of the lifetime for confidential clients.
    rotateRefreshToken: true,
    // oidc-provider's default, spelled out: a refresh token whenever `offline_access` was granted
    // and the client may refresh. The offline-access bridge keeps the scope from being dropped.
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    loadExistingGrant: grantRequestedScopes,
    async findAccount(_ctx, sub) {
      const user = findDevUser(users, sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ ...user.claims, groups: [...user.claims.groups] }) };
    },
    async extraTokenClaims(ctx, token) {
      const scopes = token.scope?.split(' ') ?? [];
      // A client-credentials token is the client's own: Okta's claims without a user (no `uid`);
      // oidc-provider already makes its `sub` the client id, as Okta does.
      if (token.kind === 'ClientCredentials') return { ver: 1, cid: token.clientId, scp: scopes };
      if (token.kind !== 'AccessToken') return undefined;
      // Okta's access token claims; `scp` is an array, unlike RFC 9068's `scope` string.
      const claims: Record<string, unknown> = {
        ver: 1,
        cid: token.clientId,
        uid: token.accountId,
        scp: scopes,
      };
      // RFC 9068 §2.2.1: how and when the user authenticated, so the API can demand a step-up
      // (RFC 9470); after a refresh still the original sign-in's.
      const authentication = authenticationOf(ctx);
      if (authentication?.acr !== undefined) claims.acr = authentication.acr;
      if (authentication?.authTime !== undefined) claims.auth_time = authentication.authTime;
      // Okta admins usually add the groups claim to access tokens too, so the API can authorize
      // by group; it is what makes a large directory's access tokens large.
      const user = scopes.includes('groups') ? findDevUser(users, token.accountId) : undefined;
      if (user) claims.groups = [...user.claims.groups];
      return claims;
    },
    interactions: {
      policy: buildInteractionPolicy({ ignoreAcrValues: input.ignoreAcrValues }),
      url: (_ctx, interaction) => `${input.issuerPath}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      // Back-Channel Logout 1.0, which Okta does not offer (its Single Logout is front-channel)
      // but Keycloak, Auth0 and Entra do. When an IdP session ends at `/v1/logout`, every client
      // of it with a `backchannel_logout_uri` gets a logout token POSTed, best effort: a failure
      // is an event, never a failed logout. `backchannel_logout_session_required` also puts `sid`
      // in that client's ID tokens.
      backchannelLogout: { enabled: true },
      introspection: { enabled: true },
      // RFC 6749 §4.4, for clients registered with the `client_credentials` grant: a JWT access
      // token for the audience, custom scopes only (checked in `getResourceServerInfo` below),
      // DPoP-bound when the request carries a proof (and required for `dpop_bound_access_tokens`
      // clients), no refresh token.
      clientCredentials: { enabled: true },
      // RFC 9449. A token request with a DPoP proof gets `token_type: DPoP` and an access token
      // bound by `cnf.jkt`; clients registered with `dpop_bound_access_tokens` must send one.
      // Okta's token endpoint always asks for a server nonce (`400 use_dpop_nonce` and a
      // `DPoP-Nonce` header); the dev IdP does so only with `dpopNonce`, so clients can be tested
      // both ways. Nonces are derived from a per-start secret, so they die with the IdP.
      dPoP: {
        enabled: true,
        nonceSecret: input.dpopNonce ? randomBytes(32) : undefined,
        requireNonce: (ctx) => input.dpopNonce && ctx.oidc.route === 'token',
        allowReplay: false,
      },
      // RFC 9126 at Okta's `/v1/par`: optional, unless a client registers
      // `require_pushed_authorization_requests`; pushed redirect URIs must be registered ones.
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: false,
        allowUnregisteredRedirectUris: false,
      },
      rpInitiatedLogout: {
        enabled: true,
        // Only reached if the logout bridge did not turn the page into a redirect: still no click.
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head>
<body>${form.replace('</form>', '<input type="hidden" name="logout" value="yes"><button type="submit">Sign out</button></form>')}
<script>document.forms[0].submit()</script></body></html>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = renderErrorPage('Signed out', { message: 'You have been signed out of the dev IdP.' });
        },
      },
      resourceIndicators: {
        enabled: true,
        // Like Okta's custom server: every access token is for its one audience.
        defaultResource: () => audience,
        // Without this, oidc-provider issues an opaque userinfo-only token when `openid` is requested.
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== audience) throw new errors.InvalidTarget();
          // Where oidc-provider asks whether the client may request scopes of this resource:
          // a client-credentials request is refused here unless it names only custom scopes,
          // and its token is for those. The user flows keep the OpenID Connect scopes only (the
          // silent consent grants a user whatever the resource offers).
          const clientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
          if (clientCredentials) checkClientCredentialsScope(ctx.oidc.params?.scope, customScopes);
          return {
            scope: (clientCredentials ? customScopes : SUPPORTED_SCOPES).join(' '),
            audience,
            accessTokenTTL: input.accessTokenTtlS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: input.accessTokenTtlS,
      // Okta: one access token lifetime per access policy rule, whatever the grant.
      ClientCredentials: input.accessTokenTtlS,
      IdToken: input.idTokenTtlS,
      RefreshToken: input.refreshTokenTtlS,
      Grant: input.refreshTokenTtlS,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_S,
      Interaction: INTERACTION_TTL_S,
      Session: SESSION_TTL_S,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = renderErrorPage('Sign-in error', {
        error: out.error,
        error_description: out.error_description,
      });
    },
  };
}
