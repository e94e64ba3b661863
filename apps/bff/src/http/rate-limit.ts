import { BoundedMap } from '../bounded-map.ts';

/**
 * Per-address rate limits for the routes anyone can call and that cost the IdP something
 * (`GET /auth/login`: a PAR call with `OKTA_USE_PAR`, a login page; the front-channel logout).
 * A fixed window per key: simple, one counter per address, and the same rule in memory and in
 * Redis. Never on `/api` (signed-in traffic; the hot path).
 */

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within the limit. */
  hit(key: string): Promise<RateDecision>;
}

export const ALLOWED: RateDecision = Object.freeze({ ok: true });
export const NO_RATE_LIMIT: RateLimiter = { hit: async () => ALLOWED };

export const RATE_WINDOW_MS = 60_000;

/** The decision for the `count`th request of a window that ends in `resetInMs`. */
export function decide(count: number, limit: number, resetInMs: number): RateDecision {
  return count <= limit ? ALLOWED : { ok: false, retryAfterS: Math.max(1, Math.ceil(resetInMs / 1000)) };
}

/**
 * The key for a client address: IPv6 addresses by their /64 (one host is routinely given a whole
 * /64, so per-address counting would give it 2^64 budgets), IPv4 as it is.
 *
 * @see RFC 7421 (the /64 boundary in IPv6 addressing)
 */
export function rateKeyOf(address: string | undefined): string {
  if (!address) return 'unknown';
  address = address.replace(/%.*$/, ''); // an IPv6 zone id names an interface, not a host
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1] as string;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export interface MemoryRateLimiterOptions {
  readonly limit: number;
  /** At most this many addresses are counted at once (least recently seen forgotten first). */
  readonly maxKeys?: number;
  readonly nowMs?: () => number;
}

/**
 * Counters in this process. Bounded however many addresses send: past `maxKeys` the least
 * recently seen address's counter is forgotten (a flood from that many addresses can reset some
 * counters early; it cannot grow memory).
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const { limit, maxKeys = 50_000, nowMs = Date.now } = options;
  const windows = new BoundedMap<string, { count: number; resetAtMs: number }>(maxKeys);
  return {
    async hit(key) {
      const t = nowMs();
      let window = windows.get(key);
      if (!window || window.resetAtMs <= t) {
        window = { count: 0, resetAtMs: t + RATE_WINDOW_MS };
        windows.set(key, window);
      }
      window.count++;
      return decide(window.count, limit, window.resetAtMs - t);
    },
  };
}

/** Counts one hit of `key` in a shared window of `windowMs`: the count so far and when it resets. */
export type SharedCounter = (key: string, windowMs: number) => Promise<{ count: number; resetInMs: number }>;

export interface SharedRateLimiterOptions {
  readonly limit: number;
  readonly counter: SharedCounter;
  /** Used while the shared counter fails (Redis down): the limit still holds, per instance. */
  readonly fallback: RateLimiter;
  readonly onError: (error: unknown) => void;
}

/**
 * Counters shared by every instance (Redis), so the limit holds across them. When the counter
 * cannot answer, this instance's own counters decide: a Redis outage neither opens the IdP to a
 * flood nor refuses every login.
 */
export function createSharedRateLimiter(options: SharedRateLimiterOptions): RateLimiter {
  const { limit, counter, fallback, onError } = options;
  return {
    async hit(key) {
      try {
        const { count, resetInMs } = await counter(key, RATE_WINDOW_MS);
        return decide(count, limit, resetInMs);
      } catch (error) {
        onError(error);
        return fallback.hit(key);
      }
    },
  };
}
