import type { Session } from '../model/session.ts';
import type { SessionStore } from '../store/store.ts';

/**
 * Long-lived connections (the `/api` WebSockets) held open for a session, ended when the session
 * or the token they were admitted with ends. An HTTP request is checked once, when it arrives; a
 * socket lives on, so this is what checks it afterwards:
 *
 * - **sessions ended on this instance** (logout, back- or front-channel logout, a refused refresh):
 *   the store tells its {@link SessionStore.onSessionsEnded} listeners, and the sockets of the
 *   named sessions are ended at once (when it cannot name them, the check below runs at once);
 * - **sessions ended elsewhere** (another instance, with the Redis store), idled out or past their
 *   absolute end: every {@link LIVENESS_CHECK_MS}, one batched {@link SessionStore.liveSessions}
 *   for every distinct session that has a socket. A store that cannot answer ends nothing
 *   (unknown is not ended); the next check asks again;
 * - **the token's expiry** (`accessTokenExpiresAt` of the token the upstream accepted): a timer
 *   per socket ends it with {@link CLOSE_TOKEN_EXPIRED}; the session's absolute end, if earlier,
 *   with {@link CLOSE_SESSION_ENDED}.
 *
 * The check is not activity: it does not renew the session's idle clock. An open socket alone
 * does not keep a session alive; the SPA's requests do (and so does a new handshake).
 */

/** A WebSocket close code (RFC 6455 §7.4.2: 4000–4999 are the application's): the session ended. */
export const CLOSE_SESSION_ENDED = 4401;
/** The access token the upstream accepted at the handshake has expired: reconnect for a fresh one. */
export const CLOSE_TOKEN_EXPIRED = 4403;
/** RFC 6455 §7.4.1 "going away": the BFF is shutting down. */
export const CLOSE_GOING_AWAY = 1001;

/** How often the sessions of open sockets are checked (ended elsewhere, idled out). */
export const LIVENESS_CHECK_MS = 1_000;
/** `setTimeout` takes at most 2^31-1 ms: a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WatchedSocket {
  /** The session it was admitted with (`undefined`: a route that looked for none, or found none). */
  readonly session: Session | undefined;
  /** When the token sent upstream expires, epoch seconds; `undefined`: no token was sent. */
  readonly tokenExpiresAtS: number | undefined;
  /** Ends the socket with a close code and reason. Called at most once. */
  readonly end: (code: number, reason: string) => void;
}

export interface LiveSockets {
  /** Watches a socket from now on; the returned function stops watching (call it when it closes). */
  watch(socket: WatchedSocket): () => void;
  /** Sockets watched now. */
  readonly size: number;
  /** Ends every watched socket with `code` (shutdown: {@link CLOSE_GOING_AWAY}). */
  endAll(code: number, reason: string): void;
  /** Runs a liveness check now (tests; the timer and the end hook call it otherwise). */
  check(): Promise<void>;
  /** Stops the timers and the store subscription; watched sockets are left as they are. */
  close(): void;
}

export interface LiveSocketsOptions {
  readonly store: Pick<SessionStore, 'liveSessions' | 'onSessionsEnded'>;
  /** Epoch milliseconds (the clock of the sessions' and tokens' expiries). */
  readonly nowMs?: () => number;
  readonly checkIntervalMs?: number;
  /** A check the store could not answer (nothing was ended); for a throttled log line. */
  readonly onCheckFailed?: (error: unknown) => void;
}

interface Entry {
  readonly socket: WatchedSocket;
  readonly sid: string | undefined;
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

/** The sockets of one session, and the copy of the session the check asks about. */
interface SessionSockets {
  session: Session;
  readonly entries: Set<Entry>;
}

export function createLiveSockets(options: LiveSocketsOptions): LiveSockets {
  const { store } = options;
  const nowMs = options.nowMs ?? Date.now;
  const checkIntervalMs = options.checkIntervalMs ?? LIVENESS_CHECK_MS;
  const bySession = new Map<string, SessionSockets>();
  /** Sockets without a session: only their token timer and shutdown end them. */
  const sessionless = new Set<Entry>();
  let interval: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  let checkAgain = false;

  const forget = (entry: Entry) => {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.sid === undefined) {
      sessionless.delete(entry);
      return;
    }
    const group = bySession.get(entry.sid);
    if (!group) return;
    group.entries.delete(entry);
    if (group.entries.size > 0) return;
    bySession.delete(entry.sid);
    if (bySession.size === 0 && interval) {
      clearInterval(interval);
      interval = undefined;
    }
  };

  const end = (entry: Entry, code: number, reason: string) => {
    if (entry.ended) return;
    entry.ended = true;
    forget(entry);
    entry.socket.end(code, reason);
  };

  const endSession = (sid: string) => {
    const group = bySession.get(sid);
    if (!group) return;
    for (const entry of [...group.entries]) end(entry, CLOSE_SESSION_ENDED, 'session ended');
  };

  /** The socket's own deadline: the token's expiry (4403), or the session's absolute end if earlier (4401). */
  const arm = (entry: Entry) => {
    const { session, tokenExpiresAtS } = entry.socket;
    const sessionEndS = session?.expiresAt ?? Number.POSITIVE_INFINITY;
    const tokenEndS = tokenExpiresAtS ?? Number.POSITIVE_INFINITY;
    const atS = Math.min(sessionEndS, tokenEndS);
    if (atS === Number.POSITIVE_INFINITY) return;
    const [code, reason] =
      tokenEndS <= sessionEndS
        ? [CLOSE_TOKEN_EXPIRED, 'access token expired']
        : [CLOSE_SESSION_ENDED, 'session ended'];
    const fire = () => {
      const leftMs = atS * 1000 - nowMs();
      if (leftMs > 0) {
        entry.timer = setTimeout(fire, Math.min(leftMs, MAX_TIMER_MS));
        entry.timer.unref();
        return;
      }
      end(entry, code, reason);
    };
    // Never synchronously inside `watch`: the caller finishes setting the socket up first.
    entry.timer = setTimeout(fire, Math.min(Math.max(0, atS * 1000 - nowMs()), MAX_TIMER_MS));
    entry.timer.unref();
  };

  const runCheck = async (): Promise<void> => {
    const groups = [...bySession.entries()];
    if (groups.length === 0) return;
    let live: readonly boolean[];
    try {
      live = await store.liveSessions(groups.map(([, group]) => group.session));
    } catch (error) {
      // Unknown is not ended: the sockets stay, the next check asks again.
      options.onCheckFailed?.(error);
      return;
    }
    groups.forEach(([sid], i) => {
      if (live[i] === false) endSession(sid);
    });
  };

  /** One check at a time; a check asked for while one runs runs once more after it. */
  const check = (): Promise<void> => {
    if (checking) {
      checkAgain = true;
      return checking;
    }
    checking = runCheck().finally(() => {
      checking = undefined;
      if (checkAgain) {
        checkAgain = false;
        void check();
      }
    });
    return checking;
  };

  const unsubscribe = store.onSessionsEnded(({ sids }) => {
    if (bySession.size === 0) return;
    if (sids === undefined) void check();
    else for (const sid of sids) endSession(sid);
  });

  return {
    watch(socket) {
      const sid = socket.session?.sid;
      const entry: Entry = { socket, sid, timer: undefined, ended: false };
      if (socket.session === undefined || sid === undefined) {
        sessionless.add(entry);
      } else {
        const group = bySession.get(sid);
        if (!group) bySession.set(sid, { session: socket.session, entries: new Set([entry]) });
        else {
          group.entries.add(entry);
          // The copy with the latest idle clock (the cookie store carries it in the session).
          if (socket.session.lastSeenAt > group.session.lastSeenAt) group.session = socket.session;
        }
        if (!interval) {
          interval = setInterval(() => void check(), checkIntervalMs);
          interval.unref();
        }
      }
      arm(entry);
      return () => {
        entry.ended = true;
        forget(entry);
      };
    },
    get size() {
      let n = sessionless.size;
      for (const group of bySession.values()) n += group.entries.size;
      return n;
    },
    endAll(code, reason) {
      const all = [...sessionless];
      for (const group of bySession.values()) all.push(...group.entries);
      for (const entry of all) end(entry, code, reason);
    },
    check,
    close() {
      unsubscribe();
      if (interval) clearInterval(interval);
      interval = undefined;
      for (const entry of sessionless) if (entry.timer) clearTimeout(entry.timer);
      for (const group of bySession.values())
        for (const entry of group.entries) if (entry.timer) clearTimeout(entry.timer);
    },
  };
}
