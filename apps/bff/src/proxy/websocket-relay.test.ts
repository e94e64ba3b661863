import { describe, expect, it } from 'vitest';
import { relayedCloseCode } from './websocket-relay.ts';

describe('close codes passed from one side to the other (RFC 6455 §7.4)', () => {
  it('passes sendable codes on as they are', () => {
    for (const code of [
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4401, 4999,
    ])
      expect(relayedCloseCode(code), String(code)).toBe(code);
  });

  it('maps codes that must not be sent: 1005 (no code) to 1000, 1006/1015/reserved/out of range to 1011', () => {
    expect(relayedCloseCode(1005)).toBe(1000);
    for (const code of [1004, 1006, 1015, 1016, 2000, 2999, 5000, 999, 0])
      expect(relayedCloseCode(code), String(code)).toBe(1011);
  });
});
