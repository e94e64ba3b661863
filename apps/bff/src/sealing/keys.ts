import { createHmac, hkdfSync } from 'node:crypto';
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

/** A keyed hash of a value, as base64url text (a Redis key's distinguishing part). */
export type KeyedHash = (value: string) => string;

const HASH_KEY_LENGTH_BYTES = 32;
/** 192 bits of HMAC-SHA-256 in base64url: no collision or guess in any Redis's lifetime. */
const KEYED_HASH_CHARS = 32;

/**
 * Derives one keyed hash per secret, in `secrets`' order (newest first): HMAC-SHA-256 under a key
 * derived with HKDF-SHA-256 from the secret, `salt` and `info`. For names that must not be
 * computable without `SESSION_SECRET` (a dump of Redis must not tell who is signed in), with one
 * `salt`/`info` per purpose so that equal inputs of different purposes never share a name.
 * The first hash names new entries; the others find entries named before a rotation.
 *
 * @see RFC 5869 (HKDF); RFC 2104 (HMAC)
 */
export function deriveKeyedHashes(
  secrets: readonly string[],
  salt: string,
  info: string,
): readonly KeyedHash[] {
  if (secrets.length === 0) throw new TypeError('deriveKeyedHashes needs at least one secret');
  return secrets.map((secret): KeyedHash => {
    const key = Buffer.from(hkdfSync('sha256', secret, salt, info, HASH_KEY_LENGTH_BYTES));
    return (value) => createHmac('sha256', key).update(value).digest('base64url').slice(0, KEYED_HASH_CHARS);
  });
}
