/**
 * Verifying Okta JWT access tokens: no Hono here, only values in and claims (or an `ApiError`) out,
 * so every rule can be tested without HTTP.
 *
 * @see https://developer.okta.com/docs/guides/validate-access-tokens/ (what a resource server checks)
 * @see RFC 9068 (JWT profile for OAuth 2.0 access tokens)
 */

import { isAllowedIssuerUrl } from '@okta-bff/oidc';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { ApiError, type AuthScheme } from './errors.ts';

/**
 * Signature algorithms accepted. Okta signs access tokens with RS256; ES256 is allowed for other
 * issuers. Pinning the list is what keeps `alg: none` and HS256 (signed with the public key as
 * an HMAC secret) out: jose refuses any algorithm not listed here before it looks at a key.
 */
export const ACCESS_TOKEN_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256']);

/** Default clock skew allowed on `exp`/`nbf`/`iat`: a few seconds, as Okta's own SDKs do. */
export const DEFAULT_CLOCK_TOLERANCE_S = 5;
/** Time allowed for discovery and each JWKS fetch, so a slow IdP cannot hold requests forever. */
export const DEFAULT_IDP_TIMEOUT_MS = 5_000;

/** The claims of a verified access token. `sub` identifies the user (or client, for client credentials). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  exp: number;
  /** Okta: the granted scopes. */
  scp?: string[];
  /** Okta: the client ID the token was issued to. */
  cid?: string;
  /** Okta: the user's Okta ID. */
  uid?: string;
  /**
   * Confirmation (RFC 7800): `jkt` binds the token to a DPoP key (RFC 9449 §6). Checked by
   * {@link boundKeyThumbprint}; unchecked here because its meaning depends on how it was presented.
   */
  cnf?: unknown;
  /**
   * Authentication context class of the user's sign-in (RFC 9068 §2.2.1; Okta: e.g.
   * `urn:okta:loa:2fa:any`). Unchecked here: routes that care check it (`step-up.ts`).
   */
  acr?: unknown;
  /** When the user authenticated, in epoch seconds (RFC 9068 §2.2.1); checked like `acr`. */
  auth_time?: unknown;
}

export interface AccessTokenVerifierOptions {
  /** Expected `iss`, exactly (no trailing slash). */
  issuer: string;
  /** Expected `aud` (Okta's default authorization server: `api://default`). */
  audience: string;
  /** Key source; default: the issuer's JWKS, its URL found by discovery on first use. */
  jwks?: JWTVerifyGetKey;
  clockToleranceS?: number;
  idpTimeoutMs?: number;
  /** For discovery and JWKS requests; tests inject a fake IdP here. */
  fetch?: typeof fetch;
}

/** Verifies one access token; rejects with an `ApiError` (`invalid_token` or `idp_unavailable`). */
export type VerifyAccessToken = (token: string) => Promise<AccessTokenClaims>;

/** RFC 6750 §2.1 `b64token`: what may follow `Bearer `. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `Authorization` credentials split into the scheme (lower-cased) and what follows it. */
function splitAuthorization(header: string | undefined): { scheme?: string; credentials: string } {
  const match = header ? /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/.exec(header.trim()) : null;
  return { scheme: match?.[1]?.toLowerCase(), credentials: match?.[2]?.trim() ?? '' };
}

/**
 * Extracts the token from an `Authorization: Bearer` header.
 *
 * @throws {ApiError} `unauthenticated` when there are no bearer credentials (no header, or another
 *   scheme), `invalid_token` when `Bearer` is followed by something that is not a token.
 * @see RFC 6750 §2.1 and §3.1
 */
export function parseBearerAuthorization(header: string | undefined): string {
  const { scheme, credentials } = splitAuthorization(header);
  if (scheme !== 'bearer') {
    throw new ApiError('unauthenticated', 401, 'This API requires a bearer access token');
  }
  if (!B64TOKEN.test(credentials)) {
    throw new ApiError('invalid_token', 401, 'The bearer credentials are not a well-formed token');
  }
  return credentials;
}

/**
 * Extracts the scheme and token from an `Authorization` header that uses `Bearer` or `DPoP`
 * (scheme names are case-insensitive, RFC 9110 §11.1). Both take the same `b64token` syntax.
 *
 * @throws {ApiError} `unauthenticated` when there are no credentials of either scheme,
 *   `invalid_token` (challenged with the scheme used) when the token is not well-formed.
 * @see RFC 6750 §2.1, RFC 9449 §7.1
 */
export function parseAuthorization(header: string | undefined): { scheme: AuthScheme; token: string } {
  const { scheme: name, credentials } = splitAuthorization(header);
  const scheme: AuthScheme | undefined = name === 'bearer' ? 'Bearer' : name === 'dpop' ? 'DPoP' : undefined;
  if (scheme === undefined) {
    throw new ApiError('unauthenticated', 401, 'This API requires a Bearer or DPoP access token');
  }
  if (!B64TOKEN.test(credentials)) {
    throw new ApiError('invalid_token', 401, `The ${scheme} credentials are not a well-formed token`, {
      scheme,
    });
  }
  return { scheme, token: credentials };
}

/**
 * The scopes a verified token grants: Okta's `scp` (an array; a space-separated string is read
 * too), or RFC 9068's `scope` string when there is no `scp`. Anything else grants nothing.
 *
 * @see RFC 9068 §2.2.3 (`scope`), https://developer.okta.com/docs/reference/api/oidc/#access-token-payload (`scp`)
 */
export function grantedScopes(claims: AccessTokenClaims): string[] {
  const { scp, scope } = claims as { scp?: unknown; scope?: unknown };
  const value = scp ?? scope;
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  return [];
}

/** URL of the issuer's OpenID Provider metadata (OIDC Discovery §4: the issuer plus the well-known path). */
export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/**
 * Reads the issuer's metadata and returns its `jwks_uri`. The `issuer` it states must equal the
 * configured one (OIDC Discovery §4.3), so a misrouted or spoofed document is refused.
 *
 * @throws {ApiError} `idp_unavailable`, with the reason in `cause`.
 */
export async function parseDiscoveryResponse(issuer: string, response: Response): Promise<URL> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new ApiError('idp_unavailable', 503, 'The token issuer could not be reached', {
      cause: new Error(`OpenID discovery for ${issuer}: ${reason}`, { cause }),
    });
  };
  if (response.status !== 200) fail(`expected 200, got ${response.status}`);
  let metadata: unknown;
  try {
    metadata = await response.json();
  } catch (cause) {
    fail('the body is not JSON', cause);
  }
  if (typeof metadata !== 'object' || metadata === null) return fail('the body is not a JSON object');
  const { issuer: stated, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
  if (stated !== issuer) fail(`it names issuer ${JSON.stringify(stated)}`);
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) return fail('jwks_uri is missing or not a URL');
  const url = new URL(jwksUri);
  // Same rule as for the issuer itself: keys fetched over plain http only from this machine.
  if (!isAllowedIssuerUrl(url)) fail('jwks_uri must be https (http only for loopback hosts)');
  return url;
}

/** Fetches the issuer's metadata (the I/O half of discovery); see {@link parseDiscoveryResponse}. */
export async function discoverJwksUri(
  issuer: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<URL> {
  let response: Response;
  try {
    response = await fetchImpl(discoveryUrl(issuer), {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new ApiError('idp_unavailable', 503, 'The token issuer could not be reached', { cause });
  }
  return parseDiscoveryResponse(issuer, response);
}

/**
 * The issuer's key set, discovered on first use and then kept: jose's remote set caches the keys
 * and refetches (rate-limited) when a token names an unknown `kid`, which is how Okta's key
 * rotation is followed. A failed discovery is not cached, so the next request tries again.
 */
export function createIssuerKeySet(
  issuer: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): JWTVerifyGetKey {
  const timeoutMs = options.timeoutMs ?? DEFAULT_IDP_TIMEOUT_MS;
  let pending: Promise<JWTVerifyGetKey> | undefined;
  const load = () => {
    pending ??= discoverJwksUri(issuer, options.fetch ?? fetch, timeoutMs).then(
      (jwksUri) =>
        createRemoteJWKSet(jwksUri, {
          timeoutDuration: timeoutMs,
          ...(options.fetch ? { [customFetch]: options.fetch } : {}),
        }),
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
    return pending;
  };
  return async function issuerKeySet(header, token) {
    return (await load())(header, token);
  };
}

/**
 * Builds the function that verifies access tokens: signature (algorithms pinned), `iss`, `aud`,
 * `exp` (required) and `sub` (required: items belong to it).
 *
 * @see https://developer.okta.com/docs/guides/validate-access-tokens/nodejs/main/
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): VerifyAccessToken {
  const { issuer, audience } = options;
  if (!issuer || !audience)
    throw new TypeError('createAccessTokenVerifier: issuer and audience are required');
  const keys =
    options.jwks ?? createIssuerKeySet(issuer, { fetch: options.fetch, timeoutMs: options.idpTimeoutMs });
  const clockTolerance = options.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S;

  return async function verifyAccessToken(token) {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: [...ACCESS_TOKEN_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance,
      }));
    } catch (err) {
      throw toVerificationError(err);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new ApiError('invalid_token', 401, 'The access token has no subject');
    }
    return payload as AccessTokenClaims;
  };
}

/**
 * Maps a jose failure to what the caller is told. Token faults are 401 `invalid_token` with a
 * fixed sentence; anything else (JWKS unreachable, timed out, or not a key set) is the IdP's
 * fault, 503, so that a client does not throw away a good token.
 */
export function toVerificationError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const invalid = (message: string) => new ApiError('invalid_token', 401, message, { cause: err });
  if (err instanceof errors.JWTExpired) return invalid('The access token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return invalid('The access token was issued by another issuer');
    if (err.claim === 'aud') return invalid('The access token is not meant for this API');
    if (err.claim === 'nbf' || err.claim === 'iat') return invalid('The access token is not valid yet');
    return invalid(`The access token claim ${err.claim} is missing or invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return invalid('The access token is signed with a refused algorithm');
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return invalid('The access token signature could not be verified');
  }
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  ) {
    return invalid('The access token is malformed');
  }
  return new ApiError('idp_unavailable', 503, 'The token issuer keys could not be fetched', { cause: err });
}
