/**
 * A set of strings, each remembered until its own expiry, holding at most `maxEntries`: past the
 * bound the longest-held entry is forgotten first (Map iteration is insertion order). Memory is
 * bounded whatever callers send; an entry forgotten early only weakens a second line of defence.
 */
export class BoundedExpiringSet {
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

  add(value: string, until: number): void {
    this.#entries.delete(value);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
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
