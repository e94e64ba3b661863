import { CompactEncrypt, compactDecrypt } from 'jose';
import type { KeyRing } from './keys.ts';

const ALG = 'dir';
const ENC = 'A256GCM';
/**
 * A private protected-header parameter naming where the value is kept (for a Redis record: its
 * key). Absent on values that are not bound to a place (cookies).
 */
const BINDING_HEADER = 'bnd';

/**
 * Encrypts `plaintext` as a compact JWE (`dir` + `A256GCM`) under the ring's current key. The
 * expiry travels in the protected header, which AES-GCM authenticates, so an expired value cannot
 * be replayed even if the browser kept it; the payload itself can then be any bytes (a
 * compressed session), which a JWT's JSON claims set could not be without a second base64 layer.
 *
 * `boundTo`, when given, travels in the protected header too: the value then opens only where the
 * caller expects that same binding (see {@link unseal}). Compact JWE has no external AAD, and the
 * protected header is the AAD of AES-GCM, so this is how a value is tied to its place.
 *
 * @see RFC 7516 (JWE) §4.1 (header parameters), §4.3 (private header parameters), §5.1 (the
 *   protected header is AAD)
 */
export async function seal(
  plaintext: Uint8Array,
  ring: KeyRing,
  expiresAtS: number,
  boundTo?: string,
): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      alg: ALG,
      enc: ENC,
      kid: ring.current.kid,
      exp: expiresAtS,
      ...(boundTo === undefined ? {} : { [BINDING_HEADER]: boundTo }),
    })
    .encrypt(await ring.current.key);
}

export interface UnsealOptions {
  /** Epoch seconds; the clock by default. */
  readonly nowS?: number;
  /**
   * The binding the value must carry (what {@link seal} was given). A value sealed with another
   * binding, or with none while one is expected (and the reverse), does not open.
   */
  readonly boundTo?: string;
}

/**
 * Decrypts a value sealed by {@link seal} under any key of the ring. Algorithms are pinned; an
 * unknown `kid`, a tampered or truncated value, garbage, an expired value or one bound elsewhere
 * all give `undefined`: the caller treats that as "no session", never as a server error.
 */
export async function unseal(
  value: string,
  ring: KeyRing,
  { nowS = Date.now() / 1000, boundTo }: UnsealOptions = {},
): Promise<Uint8Array | undefined> {
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(
      value,
      async (header) => {
        const key = header.kid === undefined ? undefined : ring.byKid.get(header.kid);
        if (!key) throw new Error('unknown key id');
        return key.key;
      },
      { keyManagementAlgorithms: [ALG], contentEncryptionAlgorithms: [ENC] },
    );
    const exp = protectedHeader.exp;
    if (typeof exp !== 'number' || exp <= nowS) return undefined;
    if (protectedHeader[BINDING_HEADER] !== boundTo) return undefined;
    return plaintext;
  } catch {
    // Any failure to open means the value is not ours (or no longer valid): no session. The
    // caller clears it; there is nothing to log that would not echo attacker-controlled input.
    return undefined;
  }
}
