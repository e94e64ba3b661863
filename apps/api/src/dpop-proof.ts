/**
 * Checking a DPoP proof at the resource server: values in (the proof header, the request's method
 * and URL, the access token and the key thumbprint it is bound to), nothing or an `ApiError` out.
 * No Hono here, so every check can be tested without a request; `bearer-auth.ts` feeds it from
 * the request.
 *
 * The dev IdP verifies proofs sent to its own userinfo endpoint with a second implementation
 * (`packages/dev-idp/src/dpop-proof.ts`; this app must not depend on the dev IdP). Both are tested
 * against one table of cases, `packages/dev-idp/src/testing/dpop-proof-cases.ts`, so they accept
 * and refuse the same proofs: a change of policy here is a change there too.
 *
 * @see RFC 9449 §4.3 (checking a proof), §7 (protected resource access), §9 (nonces)
 */
import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import type { AccessTokenClaims } from './access-token.ts';
import { expectedHtu, normalizeHtu } from './dpop-htu.ts';
import type { DpopNonces } from './dpop-nonce.ts';
import { createMemoryReplayCache, type ReplayCache } from './dpop-replay-cache.ts';
import { ApiError, type AuthScheme } from './errors.ts';

/**
 * Proof signature algorithms accepted, advertised in the challenge's `algs`. Asymmetric only:
 * the key is in the proof, so `none` or an HMAC would prove nothing. jose refuses any other
 * `alg` before it touches the key.
 *
 * @see RFC 9449 §4.3 check 5
 */
export const DPOP_PROOF_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'RS256', 'PS256', 'EdDSA']);

/** Oldest accepted proof (`iat`), in seconds; also how long its `jti` is remembered. */
export const DPOP_PROOF_MAX_AGE_S = 300;
/** How far in the future a proof's `iat` may be, for clients whose clock is ahead. */
export const DPOP_CLOCK_SKEW_S = 60;

/** A `jti` is remembered, hashed; this bounds the work done on an absurd one. */
const MAX_JTI_CHARS = 256;
/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** `cnf.jkt`: a base64url SHA-256 JWK thumbprint (RFC 9449 §6.1, RFC 7638). */
const JKT = /^[A-Za-z0-9_-]{43}$/;
/**
 * One compact JWS: three base64url parts (the last may be empty, so that `alg: none` is refused
 * by name below). Two `DPoP` headers arrive joined by ", " and fail this.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What a proof is checked against. */
export interface DpopProofInput {
  /** The `DPoP` header as received (`null` if absent; repeated headers joined by ", "). */
  proof: string | null;
  /** The request method, as received. */
  method: string;
  /** The request URL as the server built it (`c.req.url`). */
  url: string;
  /** The access token presented with the proof. */
  accessToken: string;
  /** `cnf.jkt` of the verified access token. */
  jkt: string;
}

export interface DpopProofVerifierOptions {
  /**
   * The API's base URL as clients call it; `htu` must be this plus the request path. Default:
   * the request's own URL (`Host` header). See `dpop-htu.ts` for why a deployment sets it.
   */
  publicUrl?: URL;
  /** When set, every proof must carry a nonce from here (RFC 9449 §9). */
  nonces?: DpopNonces;
  /** Default: a fresh in-memory cache. */
  replayCache?: ReplayCache;
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** The DPoP checks of one app. */
export interface DpopProofVerifier {
  /**
   * Resolves when the proof is acceptable, and records its `jti`.
   *
   * @throws {ApiError} `invalid_dpop_proof`, or `use_dpop_nonce` when only the nonce is missing
   *   or stale; both challenged with the DPoP scheme.
   */
  verify(input: DpopProofInput): Promise<void>;
  /** The nonce to send in `DPoP-Nonce`, or `undefined` when nonces are off. */
  currentNonce(): string | undefined;
}

/**
 * The key thumbprint a token is bound to (`cnf.jkt`), or `undefined` for an unbound token.
 *
 * @throws {ApiError} `invalid_token` when `cnf` is present but binds the token to nothing this
 *   API can check (a certificate, RFC 8705, or garbage): accepting it unbound would drop the binding.
 */
export function boundKeyThumbprint(claims: AccessTokenClaims, scheme: AuthScheme): string | undefined {
  const { cnf } = claims;
  if (cnf === undefined) return undefined;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
  if (typeof jkt !== 'string' || !JKT.test(jkt)) {
    throw new ApiError('invalid_token', 401, 'The access token is bound to a key this API cannot check', {
      scheme,
    });
  }
  return jkt;
}

/** `ath`: base64url SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

function invalidProof(message: string, cause?: unknown): ApiError {
  return new ApiError(
    'invalid_dpop_proof',
    401,
    message,
    cause === undefined ? { scheme: 'DPoP' } : { scheme: 'DPoP', cause },
  );
}

/**
 * Maps a jose failure on the proof to a fixed sentence. There is no I/O in checking a proof:
 * the key comes from the proof itself, so every failure, known to jose or not (a WebCrypto
 * `DataError` for a malformed key, say), is the proof's fault and answers 401, never 500.
 */
function toProofError(err: unknown): ApiError {
  if (err instanceof errors.JOSEAlgNotAllowed)
    return invalidProof('The DPoP proof is signed with a refused algorithm', err);
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return invalidProof('The DPoP proof signature does not verify', err);
  if (err instanceof errors.JWTExpired) return invalidProof('The DPoP proof expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = ['typ', 'jti', 'htm', 'htu', 'iat', 'ath', 'nbf', 'exp'].includes(err.claim)
      ? err.claim
      : 'set';
    return invalidProof(`The DPoP proof claim ${claim} is missing or invalid`, err);
  }
  return invalidProof('The DPoP proof is malformed', err);
}

/** The protected header, once it names `dpop+jwt`, an accepted `alg` and a public `jwk`. */
function checkProofHeader(proof: string): ProtectedHeaderParameters & { jwk: JWK } {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(proof);
  } catch (cause) {
    throw invalidProof('The DPoP proof is malformed', cause);
  }
  // Exactly, not as a media type: jose would also take application/dpop+jwt. RFC 9449 names the one
  // value a proof carries (§4.2) and is checked against (§4.3 check 4); no conforming client sends
  // another spelling, so the media-type equivalence of RFC 7515 §4.1.9 is not extended to it.
  if (header.typ !== 'dpop+jwt') throw invalidProof('The DPoP proof typ must be dpop+jwt');
  if (typeof header.alg !== 'string' || !DPOP_PROOF_ALGORITHMS.includes(header.alg)) {
    throw invalidProof('The DPoP proof is signed with a refused algorithm');
  }
  const { jwk } = header;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalidProof('The DPoP proof has no jwk header');
  }
  // jose refuses a private key too (EmbeddedJWK); saying so here gives the reason (§4.3 check 7).
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw invalidProof('The DPoP proof jwk header must be a public key');
  }
  return { ...header, jwk };
}

/**
 * Builds the proof checker of one app: RFC 9449 §4.3's checks, then `ath` and the key binding
 * (§7.1), then the nonce (§9), and last the replay check, so only a proof accepted in every
 * other respect uses up its `jti`.
 */
export function createDpopProofVerifier(options: DpopProofVerifierOptions = {}): DpopProofVerifier {
  const { publicUrl, nonces } = options;
  if (publicUrl && (publicUrl.search || publicUrl.hash || normalizeHtu(publicUrl.href) === undefined)) {
    throw new TypeError(
      'createDpopProofVerifier: publicUrl must be an http(s) URL without query or fragment',
    );
  }
  const replayCache = options.replayCache ?? createMemoryReplayCache();
  const now = options.now ?? Date.now;

  async function verify(input: DpopProofInput): Promise<void> {
    const { proof } = input;
    if (proof === null) throw invalidProof('A DPoP-bound token needs a DPoP proof header');
    if (proof.includes(',')) throw invalidProof('The request must carry exactly one DPoP proof');
    if (!COMPACT_JWS.test(proof)) throw invalidProof('The DPoP proof is malformed');
    const header = checkProofHeader(proof);

    const nowMs = now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        algorithms: [...DPOP_PROOF_ALGORITHMS],
        typ: 'dpop+jwt',
        requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
        currentDate: new Date(nowMs),
        clockTolerance: DPOP_CLOCK_SKEW_S,
      }));
    } catch (err) {
      throw toProofError(err);
    }

    const { jti, htm, htu, iat, ath, nonce } = payload as Record<string, unknown>;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_CHARS) {
      throw invalidProof('The DPoP proof claim jti is missing or invalid');
    }
    if (htm !== input.method) throw invalidProof('The DPoP proof is for another HTTP method');
    const expected = expectedHtu(input.url, publicUrl);
    if (typeof htu !== 'string' || expected === undefined || normalizeHtu(htu) !== expected) {
      throw invalidProof('The DPoP proof is for another URL');
    }
    const nowS = Math.floor(nowMs / 1000);
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      throw invalidProof('The DPoP proof claim iat is missing or invalid');
    }
    if (iat > nowS + DPOP_CLOCK_SKEW_S) throw invalidProof('The DPoP proof is issued in the future');
    if (iat < nowS - DPOP_PROOF_MAX_AGE_S) throw invalidProof('The DPoP proof is too old');
    if (ath !== accessTokenHash(input.accessToken)) {
      throw invalidProof('The DPoP proof is for another access token');
    }
    if ((await calculateJwkThumbprint(header.jwk, 'sha256')) !== input.jkt) {
      throw invalidProof('The DPoP proof key is not the key the access token is bound to');
    }
    if (nonces && !nonces.isValid(nonce)) {
      throw new ApiError('use_dpop_nonce', 401, 'The DPoP proof must carry the nonce from DPoP-Nonce', {
        scheme: 'DPoP',
      });
    }
    // Keyed by key and jti, so one client's jti cannot block another's; hashed, so entries are small.
    const replayKey = createHash('sha256').update(`${input.jkt}.${jti}`).digest('base64url');
    const seen = replayCache.record(replayKey, iat, iat + DPOP_PROOF_MAX_AGE_S, nowS);
    if (seen === 'replayed') throw invalidProof('The DPoP proof was already used');
    if (seen === 'too_old') throw invalidProof('The DPoP proof is too old');
  }

  return {
    verify,
    currentNonce: () => nonces?.current(),
  };
}
