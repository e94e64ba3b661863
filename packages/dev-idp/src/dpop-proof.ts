/**
 * DPoP proofs (RFC 9449) outside oidc-provider: decoding them for the event record, and
 * verifying those sent to the IdP's own `/v1/userinfo`, a protected resource that oidc-provider
 * does not serve here (see `userinfo.ts`). The token and PAR endpoints use oidc-provider's checks.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  type JWK,
  errors as joseErrors,
  jwtVerify,
} from 'jose';

/** What the event record keeps of a proof: no signature, no `jti`, nothing replayable. */
export interface DecodedDpopProof {
  readonly jkt: string | undefined;
  readonly htm: string | undefined;
  readonly htu: string | undefined;
  readonly hadNonce: boolean;
  readonly hadAth: boolean;
}

/** Decodes a proof without verifying it; an undecodable one comes back with every field empty. */
export async function decodeDpopProof(proof: string): Promise<DecodedDpopProof> {
  try {
    const { jwk } = decodeProtectedHeader(proof);
    const payload = decodeJwt(proof);
    return {
      jkt: jwk ? await calculateJwkThumbprint(jwk as JWK) : undefined,
      htm: typeof payload.htm === 'string' ? payload.htm : undefined,
      htu: typeof payload.htu === 'string' ? payload.htu : undefined,
      hadNonce: typeof payload.nonce === 'string',
      hadAth: typeof payload.ath === 'string',
    };
  } catch (error) {
    // Only the record gives up: the endpoint itself refuses the proof.
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError) {
      return { jkt: undefined, htm: undefined, htu: undefined, hadNonce: false, hadAth: false };
    }
    throw error;
  }
}

/** The request a proof must match. */
export interface DpopProofRequest {
  /** The `DPoP` header value. */
  readonly proof: string;
  /** The HTTP method, compared with `htm`. */
  readonly method: string;
  /** The URL called, without query and fragment, compared with `htu`. */
  readonly url: string;
  /** The access token presented, whose hash must be the proof's `ath`. */
  readonly accessToken: string;
}

/** A proof's outcome: the thumbprint of its key, or why it was refused. */
export type DpopProofResult =
  | { readonly ok: true; readonly jkt: string }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link createDpopProofVerifier}. */
export interface DpopProofVerifierOptions {
  readonly algorithms: readonly string[];
  /** How old a proof may be (its `iat`); oidc-provider's window is 300 s. */
  readonly maxAgeS?: number;
}

const DEFAULT_MAX_AGE_S = 300;
const CLOCK_TOLERANCE_S = 5;

/**
 * A verifier of proofs sent to a protected resource, with its own memory of the `jti`s seen
 * within the proofs' lifetime (RFC 9449 §11.1). Server nonces are not used at the resource.
 */
export function createDpopProofVerifier({
  algorithms,
  maxAgeS = DEFAULT_MAX_AGE_S,
}: DpopProofVerifierOptions) {
  /** jti → when it may be forgotten (epoch ms). */
  const seen = new Map<string, number>();

  function forgetExpired(now: number): void {
    for (const [jti, until] of seen) if (until < now) seen.delete(jti);
  }

  return async function verifyDpopProof({
    proof,
    method,
    url,
    accessToken,
  }: DpopProofRequest): Promise<DpopProofResult> {
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    let jwk: JWK | undefined;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...algorithms],
        maxTokenAge: maxAgeS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
      });
      payload = verified.payload;
      jwk = verified.protectedHeader.jwk;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return { ok: false, reason: error.code };
      throw error;
    }
    if (payload.htm !== method) return { ok: false, reason: 'htm mismatch' };
    const htu = typeof payload.htu === 'string' ? URL.parse(payload.htu) : null;
    if (htu) {
      htu.search = '';
      htu.hash = '';
    }
    if (htu?.href !== url) return { ok: false, reason: 'htu mismatch' };
    if (payload.ath !== createHash('sha256').update(accessToken).digest('base64url')) {
      return { ok: false, reason: 'ath mismatch' };
    }
    const now = Date.now();
    forgetExpired(now);
    const jti = String(payload.jti);
    if (seen.has(jti)) return { ok: false, reason: 'replayed jti' };
    seen.set(jti, now + (maxAgeS + CLOCK_TOLERANCE_S) * 1000);
    if (!jwk) return { ok: false, reason: 'no jwk' };
    return { ok: true, jkt: await calculateJwkThumbprint(jwk) };
  };
}

/** A proof verifier, as {@link createDpopProofVerifier} returns it. */
export type VerifyDpopProof = ReturnType<typeof createDpopProofVerifier>;
