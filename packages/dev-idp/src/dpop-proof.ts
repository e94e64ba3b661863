/**
 * DPoP proofs (RFC 9449) outside oidc-provider: decoding them for the event record, and
 * verifying those sent to the IdP's own `/v1/userinfo`, a protected resource that oidc-provider
 * does not serve here (see `userinfo.ts`). The token and PAR endpoints use oidc-provider's checks.
 *
 * The verifier behaves as the sample API's (`apps/api/src/dpop-proof.ts`): the two cannot share
 * code (the API must not depend on the dev IdP), so both are tested against one table of cases,
 * `testing/dpop-proof-cases.ts`. A change of policy here is a change there too.
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
  type JWTPayload,
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
  /** The URL called, compared with `htu` after normalisation; its query and fragment are ignored. */
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
  /** How old a proof may be (its `iat`), in seconds; also how long its `jti` is remembered. */
  readonly maxAgeS?: number;
  /** Clock in epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

/** The acceptance window of the sample API: 300 s back, 60 s ahead for a client whose clock is fast. */
const DEFAULT_MAX_AGE_S = 300;
const CLOCK_SKEW_S = 60;
/** A `jti` is remembered: this bounds the memory an absurd one takes. */
const MAX_JTI_CHARS = 256;
/** RFC 3986 §2.3 unreserved characters, whose percent-encoded forms mean the same. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * An `htu` (or the URL called) as it is compared: an absolute `http(s)` URL without user
 * information, query and fragment dropped, after syntax- and scheme-based normalisation (the URL
 * parser lower-cases scheme and host and drops a default port; unreserved characters are decoded
 * and other percent-encodings upper-cased here). `undefined` for anything else.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 (check 9)
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2
 */
function normalizeHtu(value: unknown): string | undefined {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    return undefined;
  }
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}

const refused = (reason: string): DpopProofResult => ({ ok: false, reason });

/**
 * A verifier of proofs sent to a protected resource (RFC 9449 §4.3, with `ath` from §7.1), with
 * its own memory of the `jti`s seen, per key, within the proofs' lifetime (§11.1). Server nonces
 * are not used at the resource. The caller compares the returned thumbprint with the token's
 * `cnf.jkt`.
 */
export function createDpopProofVerifier({
  algorithms,
  maxAgeS = DEFAULT_MAX_AGE_S,
  now = Date.now,
}: DpopProofVerifierOptions) {
  /** Key thumbprint and jti → when they may be forgotten (epoch s). */
  const seen = new Map<string, number>();

  function forgetExpired(nowS: number): void {
    for (const [key, untilS] of seen) if (untilS < nowS) seen.delete(key);
  }

  return async function verifyDpopProof({
    proof,
    method,
    url,
    accessToken,
  }: DpopProofRequest): Promise<DpopProofResult> {
    const nowMs = now();
    let payload: JWTPayload;
    let jwk: JWK | undefined;
    let typ: unknown;
    try {
      ({ typ } = decodeProtectedHeader(proof));
    } catch (error) {
      // jose's decoders throw a TypeError for anything that is not a JWS.
      if (error instanceof TypeError || error instanceof joseErrors.JOSEError) return refused('malformed');
      throw error;
    }
    // Exactly, not as a media type: jose's typ option would also take application/dpop+jwt.
    if (typ !== 'dpop+jwt') return refused('typ is not dpop+jwt');
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...algorithms],
        currentDate: new Date(nowMs),
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
      });
      payload = verified.payload;
      jwk = verified.protectedHeader.jwk;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return refused(error.code);
      throw error;
    }
    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_CHARS) return refused('bad jti');
    if (htm !== method) return refused('htm mismatch');
    const expectedHtu = normalizeHtu(url);
    if (expectedHtu === undefined || normalizeHtu(htu) !== expectedHtu) return refused('htu mismatch');
    const nowS = Math.floor(nowMs / 1000);
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return refused('bad iat');
    if (iat > nowS + CLOCK_SKEW_S) return refused('iat in the future');
    if (iat < nowS - maxAgeS) return refused('iat too old');
    if (ath !== createHash('sha256').update(accessToken, 'ascii').digest('base64url')) {
      return refused('ath mismatch');
    }
    if (!jwk) return refused('no jwk');
    const jkt = await calculateJwkThumbprint(jwk);
    // Per key, so one client's jti cannot block another's.
    const replayKey = `${jkt}.${jti}`;
    forgetExpired(nowS);
    if (seen.has(replayKey)) return refused('replayed jti');
    seen.set(replayKey, iat + maxAgeS);
    return { ok: true, jkt };
  };
}

/** A proof verifier, as {@link createDpopProofVerifier} returns it. */
export type VerifyDpopProof = ReturnType<typeof createDpopProofVerifier>;
