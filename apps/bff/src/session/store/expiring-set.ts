import { createHash } from 'node:crypto';
import { BoundedMap } from '../../bounded-map.ts';

/**
 * A set of strings, each remembered until its own expiry, holding at most `maxEntries`: past the
 * bound the oldest entry is forgotten first (`bounded-map.ts`). Memory is bounded whatever
 * callers send; an entry forgotten early only weakens a second line of defence, so this is for
 * values only an authenticated caller can add (see {@link ExpiringDigestSet} for the others).
 */
export class BoundedExpiringSet {
  readonly #entries: BoundedMap<string, number>;
  readonly #nowS: () => number;

  /** `nowS`: epoch seconds, the unit of the expiries passed to {@link add}. */
  constructor(maxEntries: number, nowS: () => number) {
    this.#entries = new BoundedMap(maxEntries);
    this.#nowS = nowS;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(value: string, untilS: number): void {
    this.#entries.set(value, untilS);
  }

  delete(value: string): void {
    this.#entries.delete(value);
  }

  has(value: string): boolean {
    const untilS = this.#entries.get(value);
    if (untilS === undefined) return false;
    if (untilS > this.#nowS()) return true;
    this.#entries.delete(value);
    return false;
  }
}

/** Bytes of SHA-256 kept per value: 128 bits, so no two values an attacker picks share one. */
const DIGEST_CHARS = 22;
/** The fixed-size digest {@link ExpiringDigestSet} keeps for `value`. */
export const digestOf = (value: string): string =>
  createHash('sha256').update(value).digest('base64url').slice(0, DIGEST_CHARS);

/**
 * Values that an unauthenticated caller can name (the IdP session ids of front-channel logout),
 * each remembered until its expiry as a fixed-size digest, at most `maxEntries` at once.
 *
 * Unlike {@link BoundedExpiringSet}, an entry is never dropped before it expires: when the set is
 * full of live entries, {@link add} refuses the new one. A flood of forged values can then stop
 * new entries for a while, but it can never push out a real logout and so reopen that session.
 * Entries are expected to be added with non-decreasing expiries (every caller gives the same
 * lifetime), so the expired ones are at the head of the insertion order and pruning is cheap.
 */
export class ExpiringDigestSet {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #nowS: () => number;

  /** `nowS`: epoch seconds, the unit of the expiries passed to {@link add}. */
  constructor(maxEntries: number, nowS: () => number) {
    this.#maxEntries = maxEntries;
    this.#nowS = nowS;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Remembers `value` until `untilS`; false when the set is full of entries that have not expired. */
  add(value: string, untilS: number): boolean {
    return this.addDigest(digestOf(value), untilS);
  }

  /** {@link add} for a value whose digest the caller has already. */
  addDigest(key: string, untilS: number): boolean {
    const known = this.#entries.get(key);
    this.#pruneExpired();
    if (known === undefined && this.#entries.size >= this.#maxEntries) return false;
    // Moved to the tail with the later expiry, so the insertion order stays the expiry order.
    this.#entries.delete(key);
    this.#entries.set(key, Math.max(untilS, known ?? untilS));
    return true;
  }

  has(value: string): boolean {
    return this.hasDigest(digestOf(value));
  }

  hasDigest(key: string): boolean {
    if (this.#entries.size === 0) return false;
    const untilS = this.#entries.get(key);
    return untilS !== undefined && untilS > this.#nowS();
  }

  #pruneExpired(): void {
    const t = this.#nowS();
    for (const [key, untilS] of this.#entries) {
      if (untilS > t) return;
      this.#entries.delete(key);
    }
  }
}
