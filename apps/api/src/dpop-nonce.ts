/**
 * Server-provided DPoP nonces (RFC 9449 §9): with them, a proof is fresh because it carries a
 * value the server handed out a few minutes ago, not because the client's clock says so.
 *
 * A nonce is stateless: the number of the current time step and an HMAC of it under a key
 * drawn at random when the app is built. It is valid during its step and the next, so between
 * {@link DPOP_NONCE_STEP_S} and twice that; a client that saw one answer keeps working across a
 * rotation, and can pick the new value up from the `DPoP-Nonce` header of any answer (§8.2).
 *
 * > [!WARNING]
 * > The key lives in this process: several API instances each issue their own nonces, and a
 * > client sent to another instance is asked again. Run one instance with nonces on, or give
 * > the instances a shared key (not offered by this sample).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Length of a nonce's time step; a nonce is accepted for one to two steps. */
export const DPOP_NONCE_STEP_S = 120;
/** A nonce longer than this is not one of ours; refuse it before any work. */
const MAX_NONCE_CHARS = 64;
/** 128 bits of HMAC-SHA-256: unguessable, and a short header. */
const MAC_BYTES = 16;

export interface DpopNonces {
  /** The nonce to hand out now (`DPoP-Nonce` header). */
  current(): string;
  /** Whether `nonce` was handed out by this instance during the current or the previous step. */
  isValid(nonce: unknown): boolean;
}

export interface DpopNonceOptions {
  /** Clock in milliseconds (default `Date.now`); tests move it. */
  now?: () => number;
  /** HMAC key (default 32 random bytes). */
  key?: Uint8Array;
}

/** Creates the nonce source of one app. */
export function createDpopNonces(options: DpopNonceOptions = {}): DpopNonces {
  const now = options.now ?? Date.now;
  const key = options.key ?? randomBytes(32);
  if (key.byteLength < 32) throw new TypeError('createDpopNonces: the key must be at least 32 bytes');

  const stepAt = (ms: number) => Math.floor(ms / 1000 / DPOP_NONCE_STEP_S);
  const macOf = (step: number) =>
    createHmac('sha256', key).update(`dpop-nonce:${step}`).digest().subarray(0, MAC_BYTES);
  // Nonce syntax (RFC 9449 §8.1: 1*NQCHAR): base-36 step, ".", base64url MAC.
  const nonceOf = (step: number) => `${step.toString(36)}.${macOf(step).toString('base64url')}`;

  let cached: { step: number; nonce: string } | undefined;
  return {
    current() {
      const step = stepAt(now());
      if (cached?.step !== step) cached = { step, nonce: nonceOf(step) };
      return cached.nonce;
    },
    isValid(nonce) {
      if (typeof nonce !== 'string' || nonce.length > MAX_NONCE_CHARS) return false;
      const stepText = /^([0-9a-z]{1,10})\./.exec(nonce)?.[1];
      if (stepText === undefined) return false;
      const step = Number.parseInt(stepText, 36);
      const currentStep = stepAt(now());
      if (step !== currentStep && step !== currentStep - 1) return false;
      // Compared whole, so only the exact string handed out passes (no other spelling of the step or MAC).
      const given = Buffer.from(nonce);
      const expected = Buffer.from(nonceOf(step));
      return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
    },
  };
}
