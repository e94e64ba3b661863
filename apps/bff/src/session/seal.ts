import { EncryptJWT, type JWTPayload, jwtDecrypt } from 'jose';
import type { KeyRing } from './keys.ts';

const ALG = 'dir';
const ENC = 'A256GCM';

/**
 * Encrypts `payload` as a compact JWE (`dir` + `A256GCM`) under the ring's current key, with
 * `exp` so an expired cookie cannot be replayed even if the browser kept it.
 *
 * @see RFC 7516 (JWE); shared/STYLE.md §6
 */
export async function seal(payload: JWTPayload, ring: KeyRing, expiresAtS: number): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: ALG, enc: ENC, kid: ring.current.kid })
    .setIssuedAt()
    .setExpirationTime(expiresAtS)
    .encrypt(await ring.current.key);
}

/**
 * Decrypts a value sealed by {@link seal} under any key of the ring. Algorithms are pinned; an
 * unknown `kid`, a tampered or truncated value, garbage or an expired payload all give `undefined`:
 * the caller treats that as "no session", never as a server error.
 */
export async function unseal(value: string, ring: KeyRing): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtDecrypt(
      value,
      async (header) => {
        const key = header.kid === undefined ? undefined : ring.byKid.get(header.kid);
        if (!key) throw new Error('unknown key id');
        return key.key;
      },
      { keyManagementAlgorithms: [ALG], contentEncryptionAlgorithms: [ENC] },
    );
    return payload;
  } catch {
    // Any failure to open means the cookie is not ours (or no longer valid): no session. The
    // caller clears it; there is nothing to log that would not echo attacker-controlled input.
    return undefined;
  }
}
