import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * A set of strings, each remembered until its own expiry, holding at most `maxEntries`: past the
 * bound the least recently used entry is forgotten first (`lru-cache`). Memory is bounded whatever
 * callers send; an entry forgotten early only weakens a second line of defence, so this is for
 * values only an authenticated caller can add (see {@link ExpiringDigestSet} for the others).
 */
export class BoundedExpiringSet {
  readonly #entries: LRUCache<string, number>;
  readonly #now: () => number;

  /** `now` is in the same unit as the expiries passed to {@link add}. */
  constructor(maxEntries: number, now: () => number) {
    this.#entries = new LRUCache({ max: maxEntries });
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(value: string, until: number): void {
    this.#entries.set(value, until);
  }

  delete(value: string): void {
    this.#entries.delete(value);
  }

  has(value: string): boolean {
    const until = this.#entries.get(value);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#entries.delete(value);
    return false;
  }
}

/** Bytes of SHA-256 kept per value: 128 bits, so no two values an attacker picks share one. */
const DIGEST_CHARS = 22;
const digestOf = (value: string) =>
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
  readonly #now: () => number;

  /** `now` is in the same unit as the expiries passed to {@link add}. */
  constructor(maxEntries: number, now: () => number) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Remembers `value` until `until`; false when the set is full of entries that have not expired. */
  add(value: string, until: number): boolean {
    const key = digestOf(value);
    const known = this.#entries.get(key);
    this.#pruneExpired();
    if (known === undefined && this.#entries.size >= this.#maxEntries) return false;
    // Moved to the tail with the later expiry, so the insertion order stays the expiry order.
    this.#entries.delete(key);
    this.#entries.set(key, Math.max(until, known ?? until));
    return true;
  }

  has(value: string): boolean {
    const until = this.#entries.get(digestOf(value));
    return until !== undefined && until > this.#now();
  }

  #pruneExpired(): void {
    const t = this.#now();
    for (const [key, until] of this.#entries) {
      if (until > t) return;
      this.#entries.delete(key);
    }
  }
}
