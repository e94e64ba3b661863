/**
 * Watches when the session will end, so the app can say so before it happens (WCAG 2.2.1: warn,
 * and let the user extend what can be extended). `GET /auth/user` gives two ends:
 *
 * - `expiresAt`, the absolute end: nothing extends it. Within {@link EXPIRY_WARNING_MS} of it the
 *   notice is `absolute` (the app offers "Sign in again", no "Stay").
 * - `idleExpiresAt`: the session idles out then unless an authenticated request comes first.
 *   Within {@link EXPIRY_WARNING_MS} of it (and not of the absolute end, which wins) the notice is
 *   `idle`, with the whole minutes left (the app offers "Stay signed in": another `GET /auth/user`,
 *   whose answer comes back through {@link SessionExpiryWatcher.update}).
 *
 * When the earlier end has passed (plus {@link EXPIRY_GRACE_MS}), `onEnded` asks the app to
 * re-fetch `/auth/user`: a 401 is handled like a 401 from `/api`, and a session that is in fact
 * still alive (kept so by another tab) comes back as new times. Asked at most once per
 * {@link EXPIRY_RECHECK_MS} while the times say "ended", so a failing or contradicting answer
 * cannot start a loop.
 *
 * Activity: after each successful authenticated `/api` call ({@link SessionExpiryWatcher.activity})
 * the idle end is assumed to be `now + window`, capped by the absolute end, where `window` is the
 * idle window last seen: `idleExpiresAt` minus the time the `/auth/user` answer was received. This
 * is an estimate, on purpose simple: the BFF may write the renewal a little later or earlier than
 * the call (the cookie store renews its `lastSeenAt` only every few minutes, so its answers already
 * show a window a few minutes short of the configured one), other tabs' calls are not seen, and no
 * request is ever made just to learn the real value (that request would itself renew the session,
 * and keep a forgotten tab signed in for ever).
 *
 * Clocks: the BFF's times are epoch seconds of its clock. When its answer carried a `Date`
 * header (`serverTime`), every time is moved onto this browser's clock by the difference, so a
 * browser whose clock is off does not warn, or ask, at the wrong moment. Without one, the two
 * clocks are taken to agree. The times this module gives out are epoch milliseconds of the
 * browser's clock.
 *
 * No I/O of its own: the clock and the timers are passed in, so tests drive every rule.
 */

/** How long before an end the notice appears. */
export const EXPIRY_WARNING_MS = 5 * 60_000;
/**
 * How long after the estimated end the app is asked to re-fetch `/auth/user`: the BFF judges in
 * whole seconds, and asking just before the real end would renew an idle session instead.
 */
export const EXPIRY_GRACE_MS = 5_000;
/** While the times say "ended" but the session was not reported gone: ask again this often. */
export const EXPIRY_RECHECK_MS = 60_000;
/**
 * The longest single timer: a sleeping computer or a throttled background tab can hold a long
 * timer back, so the clock is read again at least this often.
 */
export const EXPIRY_MAX_TIMER_MS = 60_000;

/** What `/auth/user` said about the session's ends (see `Session` in `api.ts`); `null`: unknown. */
export interface SessionTimes {
  /** Epoch seconds, the BFF's clock. */
  expiresAt: number | null;
  /** Epoch seconds, the BFF's clock. */
  idleExpiresAt: number | null;
  /** The BFF's clock when it answered, epoch milliseconds (`Date` header); `null`/absent: unknown. */
  serverTime?: number | null;
}

/** What to tell the user now. */
export type ExpiryNotice =
  /** The idle end is near: `minutesLeft` whole minutes (at least 1), rounded up. */
  | { kind: 'idle'; minutesLeft: number }
  /** The absolute end is near: at `endsAt` (epoch ms, this browser's clock). */
  | { kind: 'absolute'; endsAt: number };

/** The watcher's view of the session, on this browser's clock (epoch ms); `null`: unknown. */
export interface ExpiryState {
  endsAt: number | null;
  /** The estimated idle end (moved later by activity), never after `endsAt`. */
  idleEndsAt: number | null;
  notice: ExpiryNotice | null;
}

/** The state before any session is known. */
export const NO_EXPIRY: ExpiryState = Object.freeze({ endsAt: null, idleEndsAt: null, notice: null });

/** The watcher's clock and timers; the browser's own by default. Tests pass fakes. */
export interface ExpiryClock {
  /** Epoch milliseconds. */
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export interface SessionExpiryOptions extends Partial<ExpiryClock> {
  /** The state changed (a notice appeared, went, or its minutes changed; an end moved). */
  onChange(state: ExpiryState): void;
  /** The earlier end has passed: the app should re-fetch `/auth/user` (see the module comment). */
  onEnded(): void;
}

/** A running watcher. */
export interface SessionExpiryWatcher {
  /** A fresh answer of `GET /auth/user` for a signed-in user. */
  update(times: SessionTimes): void;
  /** A successful authenticated `/api` call: the idle clock was renewed (as far as can be told). */
  activity(): void;
  /** Signed out: forget the session, no notice, no timer. */
  clear(): void;
  /** For good: no more timers or callbacks. */
  stop(): void;
}

/** The notice due at `now` for these ends (all epoch ms, same clock). */
export function noticeAt(now: number, endsAt: number | null, idleEndsAt: number | null): ExpiryNotice | null {
  if (endsAt !== null && endsAt - now <= EXPIRY_WARNING_MS) return { kind: 'absolute', endsAt };
  if (idleEndsAt !== null && idleEndsAt - now <= EXPIRY_WARNING_MS) {
    return { kind: 'idle', minutesLeft: Math.max(1, Math.ceil((idleEndsAt - now) / 60_000)) };
  }
  return null;
}

function sameState(a: ExpiryState, b: ExpiryState): boolean {
  if (a.endsAt !== b.endsAt || a.idleEndsAt !== b.idleEndsAt) return false;
  if (a.notice === null || b.notice === null) return a.notice === b.notice;
  if (a.notice.kind === 'idle')
    return b.notice.kind === 'idle' && a.notice.minutesLeft === b.notice.minutesLeft;
  return b.notice.kind === 'absolute' && a.notice.endsAt === b.notice.endsAt;
}

function earliest(...values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.min(...known);
}

/** Starts a watcher with no session; give it one with {@link SessionExpiryWatcher.update}. */
export function watchSessionExpiry(options: SessionExpiryOptions): SessionExpiryWatcher {
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  let endsAt: number | null = null;
  let idleEndsAt: number | null = null;
  /** The idle window last seen (ms); `null` while the idle end is unknown. */
  let idleWindow: number | null = null;
  /** When `onEnded` was last called for the current "ended" stretch. */
  let endedAskedAt: number | null = null;
  let timer: unknown;
  let stopped = false;
  let last: ExpiryState = NO_EXPIRY;

  function cancelTimer(): void {
    if (timer === undefined) return;
    clearTimer(timer);
    timer = undefined;
  }

  /** Emits the state due now, schedules the next look at the clock, and asks when an end passed. */
  function check(): void {
    cancelTimer();
    if (stopped) return;
    const t = now();
    const notice = noticeAt(t, endsAt, idleEndsAt);
    const state: ExpiryState = { endsAt, idleEndsAt, notice };
    if (!sameState(state, last)) {
      last = state;
      options.onChange(state);
    }
    const end = earliest(endsAt, idleEndsAt);
    if (end === null) return;
    let ask = false;
    let next: number;
    if (t >= end + EXPIRY_GRACE_MS) {
      if (endedAskedAt === null || t >= endedAskedAt + EXPIRY_RECHECK_MS) {
        endedAskedAt = t;
        ask = true;
      }
      next = endedAskedAt + EXPIRY_RECHECK_MS - t;
    } else {
      endedAskedAt = null;
      next = end + EXPIRY_GRACE_MS - t;
      // When each notice becomes due.
      for (const at of [endsAt, idleEndsAt]) {
        if (at !== null && at - EXPIRY_WARNING_MS > t) next = Math.min(next, at - EXPIRY_WARNING_MS - t);
      }
      // When the minutes shown change.
      if (notice?.kind === 'idle' && idleEndsAt !== null && idleEndsAt > t) {
        next = Math.min(next, idleEndsAt - t - (notice.minutesLeft - 1) * 60_000);
      }
    }
    timer = setTimer(check, Math.min(Math.max(next, 0), EXPIRY_MAX_TIMER_MS));
    // Last: the app may answer synchronously (update/clear), which reschedules.
    if (ask) options.onEnded();
  }

  return {
    update(times) {
      const t = now();
      const serverTime = times.serverTime ?? null;
      // This browser's clock minus the BFF's; 0 when the BFF's is unknown.
      const offset = serverTime !== null && Number.isFinite(serverTime) ? t - serverTime : 0;
      endsAt = times.expiresAt === null ? null : times.expiresAt * 1000 + offset;
      const idle = times.idleExpiresAt === null ? null : times.idleExpiresAt * 1000 + offset;
      idleEndsAt = idle === null ? null : Math.min(idle, endsAt ?? idle);
      // Capped by the absolute end, the window looks shorter; renewals are capped the same way, so no harm.
      idleWindow = idleEndsAt === null ? null : idleEndsAt - t;
      check();
    },
    activity() {
      if (stopped || idleEndsAt === null || idleWindow === null) return;
      const renewed = Math.min(now() + idleWindow, endsAt ?? Number.POSITIVE_INFINITY);
      // Activity never brings the end earlier.
      if (renewed <= idleEndsAt) return;
      idleEndsAt = renewed;
      check();
    },
    clear() {
      endsAt = null;
      idleEndsAt = null;
      idleWindow = null;
      endedAskedAt = null;
      check();
    },
    stop() {
      stopped = true;
      cancelTimer();
    },
  };
}
