import { hkdfSync } from 'node:crypto';
import { base64url } from 'jose';

/** A derived content-encryption key and its identifier (the JWE `kid`). */
export interface SealingKey {
  readonly kid: string;
  /**
   * The key as a non-extractable WebCrypto key, imported once: handing jose the raw bytes would
   * make it import them again on every seal and unseal.
   */
  readonly key: Promise<CryptoKey>;
}

/**
 * An ordered key list: `current` seals, every key unseals. Built from `SESSION_SECRET`'s
 * comma-separated entries, newest first, so rotating is "prepend the new secret, drop the old
 * one after the session lifetime".
 */
export interface KeyRing {
  readonly current: SealingKey;
  readonly byKid: ReadonlyMap<string, SealingKey>;
}

const KEY_LENGTH_BYTES = 32; // A256GCM

/**
 * Derives one 256-bit key per secret with HKDF-SHA-256, salted with the purpose (the cookie's
 * base name) so a session key never opens a transaction cookie and vice versa.
 * The `kid` is a truncated hash of the derived key: it names the key without revealing it.
 *
 * @see RFC 5869 (HKDF); Auth.js derives its JWE key the same way, with the cookie name as salt.
 */
export function deriveKeyRing(secrets: readonly string[], purpose: string): KeyRing {
  if (secrets.length === 0) throw new TypeError('deriveKeyRing needs at least one secret');
  const keys = secrets.map((secret): SealingKey => {
    const key = new Uint8Array(
      hkdfSync('sha256', secret, purpose, `okta-bff ${purpose} A256GCM key`, KEY_LENGTH_BYTES),
    );
    const id = new Uint8Array(hkdfSync('sha256', key, purpose, 'okta-bff key id', 9));
    const cryptoKey = crypto.subtle.importKey('raw', key, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    return { kid: base64url.encode(id), key: cryptoKey };
  });
  return {
    current: keys[0] as SealingKey,
    byKid: new Map(keys.map((k) => [k.kid, k])),
  };
}
