import { describe, expect, it } from 'vitest';
import { createMemoryReplayCache } from './dpop-replay-cache.ts';

describe('createMemoryReplayCache', () => {
  it('accepts an id once', () => {
    const cache = createMemoryReplayCache();
    expect(cache.record('a', 1000, 1300, 1000)).toBe('recorded');
    expect(cache.record('a', 1000, 1300, 1001)).toBe('replayed');
    expect(cache.record('b', 1000, 1300, 1001)).toBe('recorded');
  });

  it('remembers an id up to and including its last acceptable second, then forgets it', () => {
    const cache = createMemoryReplayCache();
    cache.record('a', 1000, 1300, 1000);
    expect(cache.record('a', 1000, 1300, 1300)).toBe('replayed');
    cache.record('b', 1301, 1601, 1301); // drops expired entries on the way
    expect(cache.size).toBe(1);
  });

  it('when full, forgets the oldest and refuses every proof issued no later than it', () => {
    const cache = createMemoryReplayCache({ maxEntries: 2 });
    expect(cache.record('a', 1000, 1300, 1010)).toBe('recorded');
    expect(cache.record('b', 1005, 1305, 1010)).toBe('recorded');
    expect(cache.record('c', 1010, 1310, 1010)).toBe('recorded'); // forgets a (iat 1000)
    expect(cache.size).toBe(2);
    expect(cache.record('a', 1000, 1300, 1011)).toBe('too_old'); // a replay of a: still refused
    expect(cache.record('d', 999, 1299, 1011)).toBe('too_old');
    expect(cache.record('b', 1005, 1305, 1011)).toBe('replayed');
    expect(cache.record('e', 1011, 1311, 1011)).toBe('recorded');
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxEntries %s', (maxEntries) => {
    expect(() => createMemoryReplayCache({ maxEntries })).toThrow(TypeError);
  });
});
