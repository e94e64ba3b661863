import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter, createSharedRateLimiter, RATE_WINDOW_MS, rateKeyOf } from './rate-limit.ts';

describe('rateKeyOf', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(rateKeyOf(address)).toBe(key);
  });

  it('gives every address of one /64 the same key', () => {
    expect(rateKeyOf('2001:db8:1:2::a')).toBe(rateKeyOf('2001:db8:1:2:dead:beef:0:1'));
    expect(rateKeyOf('2001:db8:1:3::a')).not.toBe(rateKeyOf('2001:db8:1:2::a'));
  });
});

describe('createMemoryRateLimiter', () => {
  it('allows `limit` hits per key and window, then says when to retry; a new window starts over', async () => {
    let t = 1_000;
    const limiter = createMemoryRateLimiter({ limit: 2, nowMs: () => t });
    expect(await limiter.hit('a')).toEqual({ ok: true });
    expect(await limiter.hit('a')).toEqual({ ok: true });
    t += 20_500;
    expect(await limiter.hit('a')).toEqual({ ok: false, retryAfterS: 40 });
    expect(await limiter.hit('b')).toEqual({ ok: true });
    t = 1_000 + RATE_WINDOW_MS;
    expect(await limiter.hit('a')).toEqual({ ok: true });
  });

  it('counts at most `maxKeys` addresses: a flood of addresses cannot grow it', async () => {
    const limiter = createMemoryRateLimiter({ limit: 1, maxKeys: 3, nowMs: () => 0 });
    await limiter.hit('victim');
    expect((await limiter.hit('victim')).ok).toBe(false);
    for (let i = 0; i < 10; i++) await limiter.hit(`flood-${i}`);
    // The victim's counter was forgotten (bounded memory), not kept at the cost of growth.
    expect((await limiter.hit('victim')).ok).toBe(true);
  });
});

describe('createSharedRateLimiter', () => {
  it('decides from the shared count, and from this instance’s counters while the shared one fails', async () => {
    let failing = false;
    const errors: unknown[] = [];
    const limiter = createSharedRateLimiter({
      limit: 1,
      counter: async () => {
        if (failing) throw new Error('Redis is down');
        return { count: 5, resetInMs: 1_500 };
      },
      fallback: createMemoryRateLimiter({ limit: 1 }),
      onError: (error) => errors.push(error),
    });
    expect(await limiter.hit('a')).toEqual({ ok: false, retryAfterS: 2 });
    failing = true;
    expect(await limiter.hit('a')).toEqual({ ok: true });
    expect((await limiter.hit('a')).ok).toBe(false);
    expect(errors).toHaveLength(2);
  });
});
