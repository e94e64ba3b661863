/**
 * Remembers the DPoP proofs already accepted, so that each is accepted once (RFC 9449 §11.1).
 * In memory, per process, bounded: a proof only needs remembering while its `iat` is still
 * inside the acceptance window, and past {@link DEFAULT_REPLAY_CACHE_MAX_ENTRIES} the window
 * shrinks instead of the cache forgetting a proof it would then accept again.
 *
 * > [!WARNING]
 * > Per process: with several API instances, a proof accepted by one can be replayed once
 * > against each of the others. A shared store (Redis `SET NX EX`) would close that.
 *
 * @see RFC 9449 §4.3 check 12 (jti), §11.1 (replay)
 */

/** Enough for ~330 proofs per second over a 300 s window; each entry costs ~150 bytes. */
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 100_000;

/** What {@link ReplayCache.record} found. */
export type ReplayCheck =
  /** Not seen before; now remembered. */
  | 'recorded'
  /** Seen before: a replay. */
  | 'replayed'
  /** Issued no later than a proof the full cache had to forget: it can no longer be told apart from a replay. */
  | 'too_old';

export interface ReplayCache {
  /**
   * Records the proof `id` (issued at `iatS`, acceptable until `expiresAtS`) unless it is already
   * there. Check and record are one synchronous step, so two concurrent copies cannot both pass.
   */
  record(id: string, iatS: number, expiresAtS: number, nowS: number): ReplayCheck;
  readonly size: number;
}

export interface MemoryReplayCacheOptions {
  /** Default {@link DEFAULT_REPLAY_CACHE_MAX_ENTRIES}. */
  maxEntries?: number;
}

/**
 * An in-memory {@link ReplayCache}. Entries sit in insertion order (a `Map`); expired ones are
 * dropped from the front as new ones arrive. When full, the oldest is forgotten and every proof
 * issued at or before its `iat` is refused from then on, so forgetting never re-opens a replay.
 */
export function createMemoryReplayCache(options: MemoryReplayCacheOptions = {}): ReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError('createMemoryReplayCache: maxEntries must be a positive integer');
  }
  const seen = new Map<string, { iatS: number; expiresAtS: number }>();
  /** Proofs issued at or before this time may have been forgotten. */
  let forgottenUpToS = Number.NEGATIVE_INFINITY;

  return {
    record(id, iatS, expiresAtS, nowS) {
      for (const [key, entry] of seen) {
        if (entry.expiresAtS >= nowS) break;
        seen.delete(key);
      }
      if (seen.has(id)) return 'replayed';
      if (iatS <= forgottenUpToS) return 'too_old';
      while (seen.size >= maxEntries) {
        const oldest = seen.entries().next().value;
        if (oldest === undefined) break;
        seen.delete(oldest[0]);
        forgottenUpToS = Math.max(forgottenUpToS, oldest[1].iatS);
      }
      seen.set(id, { iatS, expiresAtS });
      return 'recorded';
    },
    get size() {
      return seen.size;
    },
  };
}
