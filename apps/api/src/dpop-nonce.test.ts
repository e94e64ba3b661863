import { describe, expect, it } from 'vitest';
import { createDpopNonces, DPOP_NONCE_STEP_S } from './dpop-nonce.ts';

const STEP_MS = DPOP_NONCE_STEP_S * 1000;

function clockAt(ms: number) {
  const clock = { ms, now: () => clock.ms };
  return clock;
}

describe('createDpopNonces (RFC 9449 §9)', () => {
  it('hands out the same nonce within a step and a new one after it', () => {
    const clock = clockAt(1_700_000_000_000 - (1_700_000_000_000 % STEP_MS));
    const nonces = createDpopNonces({ now: clock.now });
    const first = nonces.current();
    clock.ms += STEP_MS - 1;
    expect(nonces.current()).toBe(first);
    clock.ms += 1;
    expect(nonces.current()).not.toBe(first);
  });

  it('accepts a nonce during its step and the next, not after', () => {
    const clock = clockAt(1_700_000_000_000);
    const nonces = createDpopNonces({ now: clock.now });
    const nonce = nonces.current();
    expect(nonces.isValid(nonce)).toBe(true);
    clock.ms += STEP_MS;
    expect(nonces.isValid(nonce)).toBe(true);
    clock.ms += STEP_MS;
    expect(nonces.isValid(nonce)).toBe(false);
  });

  it('refuses a nonce from the future (a step not reached yet)', () => {
    const clock = clockAt(1_700_000_000_000);
    const later = createDpopNonces({ now: () => clock.ms + STEP_MS, key: new Uint8Array(32).fill(7) });
    const nonces = createDpopNonces({ now: clock.now, key: new Uint8Array(32).fill(7) });
    expect(nonces.isValid(later.current())).toBe(false);
  });

  it('refuses a nonce made under another key', () => {
    const now = () => 1_700_000_000_000;
    const ours = createDpopNonces({ now });
    const theirs = createDpopNonces({ now });
    expect(ours.isValid(theirs.current())).toBe(false);
  });

  it('refuses anything but the exact string it handed out', () => {
    const nonces = createDpopNonces();
    const nonce = nonces.current();
    const [step, mac = ''] = nonce.split('.');
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    for (const forged of [
      `${step}.${flipped}`,
      `0${nonce}`,
      `${nonce}=`,
      nonce.toUpperCase(),
      '',
      'x'.repeat(1000),
      undefined,
      42,
      null,
    ]) {
      expect(nonces.isValid(forged)).toBe(false);
    }
  });

  it('makes nonces of NQCHAR only (RFC 9449 §8.1)', () => {
    expect(createDpopNonces().current()).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
  });

  it('refuses a short key', () => {
    expect(() => createDpopNonces({ key: new Uint8Array(16) })).toThrow(TypeError);
  });
});
