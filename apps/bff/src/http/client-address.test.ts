import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.ts';

describe('clientAddress', () => {
  it('uses the socket and ignores X-Forwarded-For without trusted hops', () => {
    expect(clientAddress('10.0.0.5', '6.6.6.6', 0)).toEqual({ client: '10.0.0.5', forwardedFor: '10.0.0.5' });
  });
  it('believes exactly the last n hops', () => {
    expect(clientAddress('10.0.0.5', 'spoofed, 203.0.113.9', 1)).toEqual({
      client: '203.0.113.9',
      forwardedFor: '203.0.113.9, 10.0.0.5',
    });
    expect(clientAddress('10.0.0.5', ['a.b', '203.0.113.9, 10.0.0.4'], 2)).toEqual({
      client: '203.0.113.9',
      forwardedFor: '203.0.113.9, 10.0.0.4, 10.0.0.5',
    });
  });
  it('stops at the leftmost entry when there are fewer hops than trusted, and never passes junk on', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.9', 5)).toEqual({
      client: '203.0.113.9',
      forwardedFor: '203.0.113.9, 10.0.0.5',
    });
    expect(clientAddress('10.0.0.5', '<script>, 1.2.3.4', 2).client).toBe('unknown');
    expect(clientAddress('10.0.0.5', undefined, 1)).toEqual({ client: '10.0.0.5', forwardedFor: '10.0.0.5' });
  });
});
