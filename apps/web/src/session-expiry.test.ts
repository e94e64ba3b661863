import { describe, expect, it, vi } from 'vitest';
import {
  EXPIRY_GRACE_MS,
  EXPIRY_MAX_TIMER_MS,
  EXPIRY_RECHECK_MS,
  type ExpiryState,
  noticeAt,
  type SessionTimes,
  watchSessionExpiry,
} from './session-expiry.ts';
import { fakeClock } from './testing/fake-clock.ts';

const MINUTE = 60_000;
/** Whole seconds, as the BFF sends them. */
const T0 = 1_900_000_000_000;
const at = (ms: number) => (T0 + ms) / 1000;

function setup(start = T0) {
  const clock = fakeClock(start);
  const states: ExpiryState[] = [];
  const onEnded = vi.fn();
  const watcher = watchSessionExpiry({ ...clock, onChange: (state) => states.push(state), onEnded });
  const notice = () => states.at(-1)?.notice ?? null;
  return { clock, states, onEnded, watcher, notice };
}

/** A session that idles out in 30 minutes and ends in 8 hours. */
const TIMES: SessionTimes = { expiresAt: at(8 * 60 * MINUTE), idleExpiresAt: at(30 * MINUTE) };

describe('the idle warning', () => {
  it('appears exactly 5 minutes before the idle end and counts the minutes down', () => {
    const { clock, watcher, notice, onEnded } = setup();
    watcher.update(TIMES);
    expect(notice()).toBeNull();
    clock.advance(25 * MINUTE - 1);
    expect(notice()).toBeNull();
    clock.advance(1);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 5 });
    clock.advance(1);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 5 });
    clock.advance(MINUTE - 1);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 4 });
    clock.advance(3 * MINUTE + 30_000);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 1 });
    expect(onEnded).not.toHaveBeenCalled();
  });

  it('goes when a new answer of /auth/user ("Stay signed in") moves the idle end', () => {
    const { clock, watcher, notice } = setup();
    watcher.update(TIMES);
    clock.advance(26 * MINUTE);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 4 });
    watcher.update({ ...TIMES, idleExpiresAt: at(56 * MINUTE) });
    expect(notice()).toBeNull();
    clock.advance(25 * MINUTE);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 5 });
  });

  it('is never shown for an unknown idle end (an older BFF)', () => {
    const { clock, watcher, states, onEnded } = setup();
    watcher.update({ expiresAt: at(60 * MINUTE), idleExpiresAt: null });
    clock.advance(55 * MINUTE);
    expect(states.every((s) => s.notice?.kind !== 'idle')).toBe(true);
    expect(states.at(-1)?.notice).toEqual({ kind: 'absolute', endsAt: T0 + 60 * MINUTE });
    expect(onEnded).not.toHaveBeenCalled();
  });
});

describe('the absolute end', () => {
  it('is announced 5 minutes before, and wins over the idle warning', () => {
    const { clock, watcher, notice } = setup();
    watcher.update({ expiresAt: at(20 * MINUTE), idleExpiresAt: at(18 * MINUTE) });
    clock.advance(13 * MINUTE);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 5 });
    clock.advance(2 * MINUTE);
    expect(notice()).toEqual({ kind: 'absolute', endsAt: T0 + 20 * MINUTE });
  });

  it('cannot be extended: activity and renewed idle ends keep it', () => {
    const { clock, watcher, notice } = setup();
    watcher.update({ expiresAt: at(20 * MINUTE), idleExpiresAt: at(20 * MINUTE) });
    clock.advance(16 * MINUTE);
    watcher.activity();
    watcher.update({ expiresAt: at(20 * MINUTE), idleExpiresAt: at(20 * MINUTE) });
    expect(notice()).toEqual({ kind: 'absolute', endsAt: T0 + 20 * MINUTE });
  });

  it('knows nothing and sets no timer without any end', () => {
    const { clock, watcher, states, onEnded } = setup();
    watcher.update({ expiresAt: null, idleExpiresAt: null });
    expect(clock.pending()).toEqual([]);
    clock.advance(24 * 60 * MINUTE);
    expect(states).toEqual([]);
    expect(onEnded).not.toHaveBeenCalled();
  });
});

describe('when an end passes', () => {
  it('asks the app to re-fetch /auth/user a moment after the idle end, once', () => {
    const { clock, watcher, onEnded } = setup();
    watcher.update(TIMES);
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS - 1);
    expect(onEnded).not.toHaveBeenCalled();
    clock.advance(1);
    expect(onEnded).toHaveBeenCalledTimes(1);
    clock.advance(EXPIRY_RECHECK_MS - 1);
    expect(onEnded).toHaveBeenCalledTimes(1);
  });

  it('asks again a minute later when nothing came of it (a failed request)', () => {
    const { clock, watcher, onEnded } = setup();
    watcher.update(TIMES);
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS);
    clock.advance(EXPIRY_RECHECK_MS);
    expect(onEnded).toHaveBeenCalledTimes(2);
  });

  it('does not ask again at once when the answer still says signed in with the same times', () => {
    const { clock, watcher, onEnded } = setup();
    onEnded.mockImplementation(() => watcher.update(TIMES));
    watcher.update(TIMES);
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS);
    expect(onEnded).toHaveBeenCalledTimes(1);
    clock.advance(EXPIRY_RECHECK_MS - 1);
    expect(onEnded).toHaveBeenCalledTimes(1);
  });

  it('follows a session another tab kept alive', () => {
    const { clock, watcher, onEnded, notice } = setup();
    watcher.update(TIMES);
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS);
    watcher.update({ ...TIMES, idleExpiresAt: at(60 * MINUTE) });
    expect(notice()).toBeNull();
    clock.advance(30 * MINUTE);
    expect(onEnded).toHaveBeenCalledTimes(2);
  });

  it('asks at the absolute end too', () => {
    const { clock, watcher, onEnded } = setup();
    watcher.update({ expiresAt: at(10 * MINUTE), idleExpiresAt: null });
    clock.advance(10 * MINUTE + EXPIRY_GRACE_MS);
    expect(onEnded).toHaveBeenCalledTimes(1);
  });

  it('stops asking once cleared (signed out) or stopped', () => {
    const { clock, watcher, onEnded, notice } = setup();
    watcher.update(TIMES);
    clock.advance(26 * MINUTE);
    watcher.clear();
    expect(notice()).toBeNull();
    expect(clock.pending()).toEqual([]);
    watcher.update(TIMES);
    watcher.stop();
    clock.advance(60 * MINUTE);
    expect(onEnded).not.toHaveBeenCalled();
  });
});

describe('activity', () => {
  it('moves the idle end to now + the idle window last seen', () => {
    const { clock, watcher, notice, states } = setup();
    // Received at T0: the window is 30 minutes.
    watcher.update(TIMES);
    clock.advance(26 * MINUTE);
    expect(notice()).toEqual({ kind: 'idle', minutesLeft: 4 });
    watcher.activity();
    expect(notice()).toBeNull();
    expect(states.at(-1)?.idleEndsAt).toBe(T0 + 56 * MINUTE);
  });

  it('never moves it past the absolute end, nor earlier', () => {
    const { clock, watcher, states } = setup();
    watcher.update({ expiresAt: at(40 * MINUTE), idleExpiresAt: at(30 * MINUTE) });
    clock.advance(20 * MINUTE);
    watcher.activity();
    expect(states.at(-1)?.idleEndsAt).toBe(T0 + 40 * MINUTE);
    // A later answer with a shorter window: activity right after it changes nothing.
    watcher.update({ expiresAt: at(40 * MINUTE), idleExpiresAt: at(35 * MINUTE) });
    const count = states.length;
    watcher.activity();
    expect(states).toHaveLength(count);
  });

  it('is ignored while the idle end is unknown', () => {
    const { watcher, states } = setup();
    watcher.activity();
    watcher.update({ expiresAt: at(60 * MINUTE), idleExpiresAt: null });
    watcher.activity();
    expect(states.map((s) => s.idleEndsAt)).toEqual([null]);
  });
});

describe('clocks', () => {
  it("puts the BFF's times on this browser's clock when the answer says what time it was there", () => {
    // This browser's clock is 3 minutes ahead of the BFF's.
    const skew = 3 * MINUTE;
    const { clock, watcher, states, onEnded } = setup(T0 + skew);
    watcher.update({ ...TIMES, serverTime: T0 });
    expect(states.at(-1)).toMatchObject({ idleEndsAt: T0 + skew + 30 * MINUTE });
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS - 1);
    expect(onEnded).not.toHaveBeenCalled();
  });

  it('reads the clock again at least once a minute (sleep, background tabs)', () => {
    const { clock, watcher } = setup();
    watcher.update(TIMES);
    expect(clock.pending()).toEqual([EXPIRY_MAX_TIMER_MS]);
  });
});

describe('noticeAt', () => {
  it('rounds the minutes up and never says 0', () => {
    const end = T0 + 5 * MINUTE;
    expect(noticeAt(T0, null, end)).toEqual({ kind: 'idle', minutesLeft: 5 });
    expect(noticeAt(T0 + 4 * MINUTE + 1, null, end)).toEqual({ kind: 'idle', minutesLeft: 1 });
    expect(noticeAt(end + 10_000, null, end)).toEqual({ kind: 'idle', minutesLeft: 1 });
    expect(noticeAt(T0 - 1, null, end)).toBeNull();
  });
});
