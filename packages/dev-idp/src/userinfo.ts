/**
 * Okta-style `/v1/userinfo`. oidc-provider's own userinfo endpoint refuses access tokens issued
 * for a resource server (`aud` = `api://default`), while Okta's custom authorization server
 * accepts exactly those. So the IdP answers this path itself: it verifies the JWT access token
 * with its own signing key and releases the user's claims allowed by the token's `scp`.
 *
 * A DPoP-bound access token (`cnf.jkt`) is accepted only with the `DPoP` scheme and a proof of its
 * key, as Okta's userinfo does; presented as a Bearer token it is refused (RFC 9449 §7.2).
 *
 * @see https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS/#tag/CustomAS/operation/userinfoCustomAS
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
import { type JWTPayload, errors as joseErrors, jwtVerify, type KeyObject } from 'jose';
import type { VerifyDpopProof } from './dpop-proof.ts';
import { claimsForScopes, type DevUser, findDevUser } from './users.ts';

/** A response to write, decoupled from node:http so it can be tested without a server. */
export interface UserinfoResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The error code refused with (for the IdP's event record); undefined on success. */
  readonly error?: string;
}

/** The parts of a userinfo request that decide the answer. */
export interface UserinfoRequest {
  readonly authorization: string | undefined;
  /** The `DPoP` header, if any. */
  readonly dpop: string | undefined;
  readonly method: string;
  /** The URL called, without query: a DPoP proof's `htu` must be this. */
  readonly url: string;
}

/** What the userinfo bridge needs to know about the IdP. */
export interface UserinfoOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly publicKey: KeyObject | CryptoKey;
  readonly users: readonly DevUser[];
  /** Verifies DPoP proofs (and remembers their `jti`s). */
  readonly verifyDpopProof: VerifyDpopProof;
  /** Advertised in `WWW-Authenticate: DPoP algs=…`. */
  readonly dpopAlgorithms: readonly string[];
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

type UserinfoError = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';

/**
 * RFC 6750 §3 and RFC 9449 §7.1: every refusal says why in `WWW-Authenticate`, in the scheme the
 * client used, with no body to parse.
 */
function refuse(error: UserinfoError, status: number, dpopAlgs?: readonly string[]): UserinfoResponse {
  const challenge = dpopAlgs
    ? `DPoP error="${error}", algs="${dpopAlgs.join(' ')}"`
    : `Bearer error="${error}"`;
  return { status, headers: { ...NO_STORE, 'www-authenticate': challenge }, body: '', error };
}

/** The `scp` claim as a list, accepting Okta's array form and a space-separated string. */
function grantedScopes(payload: JWTPayload): string[] {
  const { scp, scope } = payload;
  if (Array.isArray(scp)) return scp.filter((value): value is string => typeof value === 'string');
  if (typeof scope === 'string') return scope.split(' ');
  return [];
}

/** The `cnf.jkt` confirmation of a DPoP-bound token, if it has one. */
function boundThumbprint(payload: JWTPayload): string | undefined {
  const { cnf } = payload as { cnf?: { jkt?: unknown } };
  return typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
}

/**
 * Answers a userinfo request.
 *
 * Refusals: no Bearer or DPoP token → 401 `invalid_request` (RFC 6750 §3.1 allows omitting the
 * code, Okta sends `invalid_request`); bad signature, issuer, audience or expiry → 401
 * `invalid_token`; a DPoP-bound token sent as Bearer, an unbound one sent as DPoP, or a proof of
 * another key → 401 `invalid_token`; a missing or bad proof → 401 `invalid_dpop_proof`; token
 * without `openid` → 403 `insufficient_scope`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export async function answerUserinfo(
  request: UserinfoRequest,
  { issuer, audience, publicKey, users, verifyDpopProof, dpopAlgorithms }: UserinfoOptions,
): Promise<UserinfoResponse> {
  const match = /^(Bearer|DPoP)[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(request.authorization ?? '');
  const token = match?.[2];
  const dpopScheme = match?.[1]?.toLowerCase() === 'dpop';
  const algs = dpopScheme ? dpopAlgorithms : undefined;
  if (!token) return refuse('invalid_request', 401);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, publicKey, {
      issuer,
      audience,
      algorithms: ['RS256'],
      typ: 'at+jwt',
    }));
  } catch (error) {
    // Only verification failures mean "invalid token"; anything else is a bug to surface.
    if (error instanceof joseErrors.JOSEError) return refuse('invalid_token', 401, algs);
    throw error;
  }

  const jkt = boundThumbprint(payload);
  if (dpopScheme !== (jkt !== undefined)) return refuse('invalid_token', 401, algs);
  if (jkt !== undefined) {
    if (!request.dpop) return refuse('invalid_dpop_proof', 401, algs);
    const proof = await verifyDpopProof({
      proof: request.dpop,
      method: request.method,
      url: request.url,
      accessToken: token,
    });
    if (!proof.ok) return refuse('invalid_dpop_proof', 401, algs);
    if (proof.jkt !== jkt) return refuse('invalid_token', 401, algs);
  }

  const scopes = grantedScopes(payload);
  if (!scopes.includes('openid')) return refuse('insufficient_scope', 403, algs);
  const user = typeof payload.sub === 'string' ? findDevUser(users, payload.sub) : undefined;
  if (!user) return refuse('invalid_token', 401, algs);

  return {
    status: 200,
    headers: { ...NO_STORE, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(claimsForScopes(user, scopes)),
  };
}
