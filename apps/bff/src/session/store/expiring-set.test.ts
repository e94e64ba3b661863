import { describe, expect, it } from 'vitest';
import { ExpiringDigestSet } from './expiring-set.ts';

describe('ExpiringDigestSet', () => {
  it('remembers values until their expiry, and only as long as that', () => {
    let t = 100;
    const set = new ExpiringDigestSet(10, () => t);
    expect(set.add('a', 200)).toBe(true);
    expect(set.has('a')).toBe(true);
    expect(set.has('b')).toBe(false);
    t = 200;
    expect(set.has('a')).toBe(false);
  });

  it('when full of live entries, refuses a new one and keeps every old one; expired ones make room', () => {
    let t = 0;
    const set = new ExpiringDigestSet(3, () => t);
    for (const v of ['a', 'b', 'c']) expect(set.add(v, 100)).toBe(true);
    expect(set.add('d', 100)).toBe(false);
    for (const v of ['a', 'b', 'c']) expect(set.has(v)).toBe(true);
    expect(set.has('d')).toBe(false);
    // Adding one it holds already is not growth: it only extends the expiry.
    expect(set.add('a', 150)).toBe(true);
    t = 120;
    expect(set.has('a')).toBe(true);
    expect(set.add('d', 220)).toBe(true);
    expect(set.size).toBe(2);
  });

  it('holds a fixed-size digest, whatever the length of the value', () => {
    const set = new ExpiringDigestSet(2, () => 0);
    set.add('x'.repeat(100_000), 1);
    expect(set.has('x'.repeat(100_000))).toBe(true);
    expect(set.has('x'.repeat(99_999))).toBe(false);
  });
});
