/**
 * The middleware that guards every route but `/healthz` and `/public/*`: no verified access token,
 * no handler. `live.ts` checks WebSocket handshakes with the same {@link verifyCredentials}.
 * Unbound tokens come as `Bearer`; DPoP-bound ones (`cnf.jkt`) as `DPoP` with a proof, and
 * neither is accepted under the other's scheme.
 */
import type { MiddlewareHandler } from 'hono';
import {
  type AccessTokenClaims,
  grantedScopes,
  parseAuthorization,
  type VerifyAccessToken,
} from './access-token.ts';
import { boundKeyThumbprint, DPOP_PROOF_ALGORITHMS, type DpopProofVerifier } from './dpop-proof.ts';
import { ApiError, type AuthScheme } from './errors.ts';

/** Hono environment of the API: handlers after {@link bearerAuth} read the verified claims. */
export interface ApiEnv {
  Variables: {
    /** The verified access token's claims; `sub` owns the items. */
    claims: AccessTokenClaims;
    /** The scheme the token came in, which answers a later refusal (`insufficient_scope`). */
    authScheme: AuthScheme;
  };
}

/** `realm` names the protection space in the challenge (RFC 7235 §2.2); any stable string does. */
export const BEARER_REALM = 'api';

export interface BearerAuthOptions {
  verifyAccessToken: VerifyAccessToken;
  dpop: DpopProofVerifier;
}

/** A token failure under the DPoP scheme is answered with a DPoP challenge (RFC 9449 §7.1). */
function challengedWith(scheme: AuthScheme, err: unknown): unknown {
  if (!(err instanceof ApiError) || err.status !== 401 || err.scheme === scheme) return err;
  return new ApiError(err.code, err.status, err.message, { cause: err.cause, scheme });
}

/** A token under the wrong scheme; the DPoP challenge says which proofs would do. */
function wrongScheme(message: string): ApiError {
  return new ApiError('invalid_token', 401, message, { scheme: 'DPoP' });
}

/** What {@link verifyCredentials} checks: the parsed `Authorization` header and the request it came with. */
export interface CredentialsInput {
  /** From {@link parseAuthorization}. */
  scheme: AuthScheme;
  token: string;
  /** The `DPoP` header as received (`null` if absent; repeated headers joined by ", "). */
  proof: string | null;
  /** The request method (a WebSocket handshake's is `GET`). */
  method: string;
  /** The request URL as the server built it: scheme of the connection, authority from `Host`. */
  url: string;
}

/**
 * Verifies parsed credentials: the token, then, by scheme, that an unbound token came as `Bearer`
 * and a bound one as `DPoP` with a valid proof for this request. The one check of every
 * authenticated request, HTTP ({@link bearerAuth}) or WebSocket handshake (`live.ts`).
 *
 * @throws {ApiError} `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce` (401, challenged in
 *   the scheme that applies) or `idp_unavailable` (503).
 * @see RFC 6750 §2.1 (Bearer), RFC 9449 §7 (DPoP), §7.2 (a bound token is never a bearer token)
 */
export async function verifyCredentials(
  input: CredentialsInput,
  options: BearerAuthOptions,
): Promise<AccessTokenClaims> {
  const { scheme, token } = input;
  let claims: AccessTokenClaims;
  try {
    claims = await options.verifyAccessToken(token);
  } catch (err) {
    throw challengedWith(scheme, err);
  }
  const jkt = boundKeyThumbprint(claims, scheme);
  if (scheme === 'Bearer' && jkt !== undefined) {
    // Accepting it would make a stolen bound token usable without the key (RFC 9449 §7.2).
    throw wrongScheme('The access token is DPoP-bound: send it with the DPoP scheme');
  }
  if (scheme === 'DPoP') {
    if (jkt === undefined) throw wrongScheme('The access token is not DPoP-bound: send it as a Bearer token');
    await options.dpop.verify({
      proof: input.proof,
      method: input.method,
      url: input.url,
      accessToken: token,
      jkt,
    });
  }
  return claims;
}

/**
 * Verifies `Authorization: Bearer <token>` or `Authorization: DPoP <token>` plus its `DPoP`
 * proof, and stores the claims in `c.var.claims`. Failures are thrown as `ApiError`s; `onError`
 * answers them and adds the challenge from {@link authChallenge}. With nonces on, every DPoP
 * answer carries the current `DPoP-Nonce`, refusals included (RFC 9449 §8.2, §9).
 *
 * @see RFC 6750 §2.1 (Bearer), RFC 9449 §7 (DPoP), §7.2 (a bound token is never a bearer token)
 */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler<ApiEnv> {
  return async function bearerAuthMiddleware(c, next) {
    const { scheme, token } = parseAuthorization(c.req.header('authorization'));
    const nonce = scheme === 'DPoP' ? options.dpop.currentNonce() : undefined;
    // Set before checking: onError's answer keeps headers already set on the context.
    if (nonce !== undefined) c.header('DPoP-Nonce', nonce);
    const claims = await verifyCredentials(
      { scheme, token, proof: c.req.header('dpop') ?? null, method: c.req.method, url: c.req.url },
      options,
    );
    c.set('claims', claims);
    c.set('authScheme', scheme);
    await next();
  };
}

/**
 * Lets a request through only when its verified token grants `scope`; mount after
 * {@link bearerAuth}.
 *
 * @throws {ApiError} 403 `insufficient_scope`, challenged in the scheme the token came in.
 * @see RFC 6750 §3.1 (`insufficient_scope`), RFC 9449 §7.1
 */
export function requireScope(scope: string): MiddlewareHandler<ApiEnv> {
  return async function requireScopeMiddleware(c, next) {
    if (!grantedScopes(c.var.claims).includes(scope)) {
      throw new ApiError('insufficient_scope', 403, `The access token does not grant the scope ${scope}`, {
        scheme: c.var.authScheme,
        scope,
      });
    }
    await next();
  };
}

/**
 * The `WWW-Authenticate` value for an auth failure, or `undefined` for other errors.
 *
 * - No credentials: one challenge per accepted scheme, without an error attribute (RFC 6750
 *   §3.1 "SHOULD NOT include an error code"; RFC 9449 §7.1 `algs` says which proofs we take).
 * - Refused credentials: the challenge of the scheme the error names, with `error` and the
 *   fixed description (ApiError messages never contain `"` or `\`, so no escaping is needed).
 * - A token without the route's scope: `error="insufficient_scope"` and the `scope` required.
 * - A token whose sign-in is too weak or too old for the route (`step-up.ts`):
 *   `error="insufficient_user_authentication"`, the description, `acr_values` and `max_age`, as
 *   in RFC 9470 §3's examples (`max_age` a quoted-string there; RFC 9110 §11.2 makes
 *   `max_age="300"` and `max_age=300` the same, and recipients must take both).
 *
 * @see RFC 6750 §3, RFC 9449 §7.1 and §9, RFC 9470 §3
 */
export function authChallenge(err: ApiError): string | undefined {
  const algs = `algs="${DPOP_PROOF_ALGORITHMS.join(' ')}"`;
  if (err.code === 'unauthenticated') return `Bearer realm="${BEARER_REALM}", DPoP ${algs}`;
  if (err.code === 'insufficient_scope') {
    const params = `error="insufficient_scope", scope="${err.scope ?? ''}"`;
    return err.scheme === 'DPoP' ? `DPoP ${params}, ${algs}` : `Bearer ${params}`;
  }
  if (err.code === 'insufficient_user_authentication') {
    const params = [`error="${err.code}"`, `error_description="${err.message}"`];
    if (err.stepUp?.acrValues.length) params.push(`acr_values="${err.stepUp.acrValues.join(' ')}"`);
    if (err.stepUp) params.push(`max_age="${err.stepUp.maxAgeS}"`);
    return err.scheme === 'DPoP' ? `DPoP ${params.join(', ')}, ${algs}` : `Bearer ${params.join(', ')}`;
  }
  if (err.code === 'invalid_token' || err.code === 'invalid_dpop_proof' || err.code === 'use_dpop_nonce') {
    const params = `error="${err.code}", error_description="${err.message}"`;
    return err.scheme === 'DPoP' ? `DPoP ${params}, ${algs}` : `Bearer ${params}`;
  }
  return undefined;
}
