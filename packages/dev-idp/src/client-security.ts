/**
 * Okta's rules for the hardened client options, where oidc-provider is more lenient, and the
 * observation of them for tests: `private_key_jwt` assertions (audience exactly the endpoint
 * called), DPoP proofs, pushed authorization requests and whether a client secret was sent.
 *
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/#jwt-with-private-key
 * @see https://developer.okta.com/docs/guides/dpop/nonoktaresourceserver/main/
 * @see https://www.rfc-editor.org/rfc/rfc9126
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import {
  type AsymmetricSigningAlgorithm,
  errors,
  type KoaContextWithOIDC,
  type Provider,
} from 'oidc-provider';
import { decodeDpopProof } from './dpop-proof.ts';
import type { ClientAuthenticationRecord, DevIdpEndpoint, DevIdpEventRecorder } from './events.ts';

type Next = () => Promise<unknown>;

/** Okta's `error_description` for a client assertion whose `aud` is not the endpoint called. */
export const CLIENT_ASSERTION_AUDIENCE_ERROR =
  'The audience claim for client_assertion must be the endpoint invoked for the request.';

/**
 * The algorithms Okta accepts for `client_secret_jwt` (HS*) and `private_key_jwt` assertions
 * (RS* and ES*; no PS* and no EdDSA).
 *
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/#jwt-with-private-key
 */
export const CLIENT_AUTH_SIGNING_ALGS = Object.freeze([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
] as const);

/** DPoP proof algorithms: what Okta accepts (RS* and ES*). oidc-provider's default has no RS*. */
export const DPOP_SIGNING_ALGS: readonly AsymmetricSigningAlgorithm[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
]);

/** oidc-provider's route names of the endpoints that authenticate clients, by Okta's names. */
const CLIENT_AUTH_ROUTES: Readonly<Record<string, DevIdpEndpoint>> = Object.freeze({
  token: 'token',
  revocation: 'revocation',
  introspection: 'introspection',
  pushed_authorization_request: 'par',
});

/** The routes where oidc-provider validates DPoP proofs. */
const DPOP_ROUTES: ReadonlySet<string> = new Set(['token', 'pushed_authorization_request']);

/**
 * oidc-provider's `assertJwtClientAuthClaimsAndHeader` hook, called with the claims of a
 * `client_assertion` whose signature verified. oidc-provider accepts as `aud` the issuer, the
 * token endpoint or the endpoint called (RFC 7523 §3 allows all three); Okta accepts only the
 * URL of the endpoint called, as a single string, and so does the dev IdP.
 *
 * @throws {errors.InvalidClientAuth} `invalid_client` (401) with Okta's description.
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export function assertOktaClientAssertionAudience(
  ctx: KoaContextWithOIDC,
  claims: Record<string, unknown>,
): void {
  if (claims.aud === ctx.oidc.urlFor(ctx.oidc.route)) return;
  const error = new errors.InvalidClientAuth(CLIENT_ASSERTION_AUDIENCE_ERROR);
  // oidc-provider keeps the detail to itself; Okta says it, so clients can be debugged.
  throw Object.assign(error, { error_description: CLIENT_ASSERTION_AUDIENCE_ERROR });
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function audienceOf(value: unknown): string | readonly string[] | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return undefined;
}

/** A `client_assertion`'s header and claims, undecodable ones as empty (they are refused anyway). */
function decodeAssertion(assertion: string): { header: Record<string, unknown>; claims: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) };
  } catch (error) {
    // Only the recording gives up here: oidc-provider refuses the assertion with invalid_client.
    if (error instanceof Error) return { header: {}, claims: {} };
    throw error;
  }
}

/** The HTTP Basic user name, if the `Authorization` header is Basic. */
function basicUser(authorization: string | undefined): string | undefined {
  const match = /^basic[ ]+([A-Za-z0-9+/]+=*)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replaceAll('+', '%20'));
  } catch (error) {
    if (error instanceof URIError) return undefined; // malformed: oidc-provider refuses it
    throw error;
  }
}

function presentedMethod(
  basic: boolean,
  body: Record<string, unknown>,
  assertionAlg: string | undefined,
): ClientAuthenticationRecord['method'] {
  if (basic) return 'client_secret_basic';
  if (body.client_secret !== undefined) return 'client_secret_post';
  if (body.client_assertion !== undefined) {
    return assertionAlg?.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
  }
  return 'none';
}

/** The OAuth error code the response carries, if it failed. */
function responseError(ctx: KoaContextWithOIDC): string | undefined {
  if (ctx.status < 400) return undefined;
  const body = ctx.body as { error?: unknown } | undefined;
  return typeof body?.error === 'string' ? body.error : `http_${ctx.status}`;
}

/**
 * Post-middleware: records, for every request to the token, revocation, introspection and PAR
 * endpoints, how the client authenticated (did it send a secret?), the claims of its
 * `client_assertion`, and the DPoP proof at the token and PAR endpoints; each with the error
 * answered, if any. Never a secret, an assertion or a proof itself.
 */
export function createClientSecurityObserver(events: DevIdpEventRecorder) {
  return async function observeClientSecurity(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    await next();
    const route = ctx.oidc?.route;
    const endpoint = route === undefined ? undefined : CLIENT_AUTH_ROUTES[route];
    if (!route || !endpoint) return;
    const body = (ctx.oidc.body ?? {}) as Record<string, unknown>;
    const error = responseError(ctx);

    const assertion = stringOrUndefined(body.client_assertion);
    const { header, claims } = assertion ? decodeAssertion(assertion) : { header: {}, claims: {} };
    const basic = basicUser(ctx.headers.authorization);
    events.recordClientAuthentication({
      endpoint,
      clientId:
        ctx.oidc.client?.clientId ??
        basic ??
        stringOrUndefined(body.client_id) ??
        stringOrUndefined(claims.sub),
      method: presentedMethod(basic !== undefined, body, stringOrUndefined(header.alg)),
      error,
    });
    if (assertion) {
      events.recordClientAssertion({
        endpoint,
        endpointUrl: ctx.oidc.urlFor(route),
        iss: stringOrUndefined(claims.iss),
        sub: stringOrUndefined(claims.sub),
        aud: audienceOf(claims.aud),
        jti: stringOrUndefined(claims.jti),
        exp: typeof claims.exp === 'number' ? claims.exp : undefined,
        alg: stringOrUndefined(header.alg),
        kid: stringOrUndefined(header.kid),
        error,
      });
    }

    const proof = ctx.get('DPoP');
    if (proof && DPOP_ROUTES.has(route)) {
      events.recordDpopProof({ endpoint, ...(await decodeDpopProof(proof)), error });
    }
  };
}

/** Records every accepted pushed authorization request (`pushed_authorization_request.success`). */
export function observePushedAuthorizationRequests(provider: Provider, events: DevIdpEventRecorder): void {
  provider.on('pushed_authorization_request.success', (ctx, client) => {
    events.recordPushedAuthorizationRequest({
      clientId: client.clientId,
      dpopJkt: ctx.oidc.entities.PushedAuthorizationRequest?.dpopJkt,
    });
  });
}
