/**
 * A clock and timers that move only when the test says so, for the session-expiry watcher
 * (`session-expiry.ts`): injected through its options (or the App's `clock` prop), never
 * installed as globals, so nothing waits on real time.
 */
import type { ExpiryClock } from '../session-expiry.ts';

export interface FakeClock extends ExpiryClock {
  /** Moves the clock forward by `ms`, running each timer that falls due, in order, at its time. */
  advance(ms: number): void;
  /** Delays (from now) of the timers still pending, soonest first. */
  pending(): number[];
}

/** A fake clock that starts at `start` (epoch milliseconds). */
export function fakeClock(start: number): FakeClock {
  let current = start;
  let next = 1;
  const timers = new Map<number, { callback: () => void; due: number }>();
  const soonest = () => {
    let found: [number, { callback: () => void; due: number }] | undefined;
    for (const entry of timers) {
      if (!found || entry[1].due < found[1].due) found = entry;
    }
    return found;
  };
  return {
    now: () => current,
    setTimer(callback, ms) {
      const id = next++;
      timers.set(id, { callback, due: current + Math.max(0, ms) });
      return id;
    },
    clearTimer(timer) {
      timers.delete(timer as number);
    },
    advance(ms) {
      const target = current + ms;
      for (let entry = soonest(); entry && entry[1].due <= target; entry = soonest()) {
        timers.delete(entry[0]);
        current = entry[1].due;
        entry[1].callback();
      }
      current = target;
    },
    pending: () => [...timers.values()].map((timer) => timer.due - current).sort((a, b) => a - b),
  };
}
