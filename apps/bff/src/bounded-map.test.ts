import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.ts';

describe('BoundedMap', () => {
  it('holds at most maxEntries, forgetting the oldest first; setting a key again makes it the newest', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect(map.size).toBe(2);
    expect(map.has('b')).toBe(false);
    expect([...map.entries()]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });

  it('grows only with what it holds', () => {
    const map = new BoundedMap<number, number>(1_000_000);
    for (let i = 0; i < 10; i++) map.set(i, i);
    expect(map.size).toBe(10);
    expect(map.get(9)).toBe(9);
    expect(map.delete(9)).toBe(true);
    expect(map.get(9)).toBeUndefined();
  });

  it('refuses a bound below one', () => {
    expect(() => new BoundedMap(0)).toThrow(TypeError);
  });
});
