import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '../model/session.ts';
import type { SessionsEnded } from '../store/store.ts';
import {
  CLOSE_GOING_AWAY,
  CLOSE_SESSION_ENDED,
  CLOSE_TOKEN_EXPIRED,
  createLiveSockets,
} from './live-sockets.ts';

const NOW_MS = Date.UTC(2030, 0, 1);
const nowS = NOW_MS / 1000;

function session(sid: string, fields: Partial<Session> = {}): Session {
  return {
    sid,
    idpSid: undefined,
    user: { sub: `user-${sid}` },
    accessToken: 'at',
    accessTokenExpiresAt: nowS + 3600,
    refreshToken: undefined,
    idToken: undefined,
    scope: undefined,
    createdAt: nowS - 10,
    lastSeenAt: nowS - 10,
    expiresAt: nowS + 8 * 3600,
    ...fields,
  } as Session;
}

/** A store whose answers the test decides, and whose end listeners it can call. */
function fakeStore() {
  const dead = new Set<string>();
  const listeners: ((ended: SessionsEnded) => void)[] = [];
  const store = {
    failing: false,
    asked: [] as string[][],
    liveSessions: vi.fn(async (sessions: readonly Session[]) => {
      store.asked.push(sessions.map((s) => s.sid));
      if (store.failing) throw new Error('Redis is down');
      return sessions.map((s) => !dead.has(s.sid));
    }),
    onSessionsEnded(listener: (ended: SessionsEnded) => void) {
      listeners.push(listener);
      return () => void listeners.splice(listeners.indexOf(listener), 1);
    },
    kill: (sid: string) => dead.add(sid),
    tell: (sids: readonly string[] | undefined) => {
      for (const l of listeners) l({ sids });
    },
    listeners,
  };
  return store;
}

function socket(s: Session | undefined, tokenExpiresAtS?: number) {
  const ended: [number, string][] = [];
  return {
    session: s,
    tokenExpiresAtS,
    end: (code: number, reason: string) => ended.push([code, reason]),
    ended,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('live sockets', () => {
  it('ends the sockets of sessions the store names as ended at once, and leaves the others', () => {
    const store = fakeStore();
    const live = createLiveSockets({ store, nowMs: () => NOW_MS });
    const a1 = socket(session('a'));
    const a2 = socket(session('a'));
    const b = socket(session('b'));
    for (const s of [a1, a2, b]) live.watch(s);
    store.tell(['a']);
    expect(a1.ended).toEqual([[CLOSE_SESSION_ENDED, 'session ended']]);
    expect(a2.ended).toEqual([[CLOSE_SESSION_ENDED, 'session ended']]);
    expect(b.ended).toEqual([]);
    expect(live.size).toBe(1);
    live.close();
    expect(store.listeners).toHaveLength(0);
  });

  it('checks every distinct session in one batch when ends are not named, and ends the dead ones', async () => {
    const store = fakeStore();
    const live = createLiveSockets({ store, nowMs: () => NOW_MS });
    const a = socket(session('a'));
    const b = socket(session('b'));
    live.watch(a);
    live.watch(socket(session('a')));
    live.watch(b);
    live.watch(socket(undefined));
    store.kill('b');
    store.tell(undefined);
    await vi.waitFor(() => expect(b.ended).toHaveLength(1));
    expect(store.asked).toEqual([['a', 'b']]);
    expect(a.ended).toEqual([]);
    live.close();
  });

  it('checks every second by itself, and a store that cannot answer ends nothing', async () => {
    vi.useFakeTimers({ now: NOW_MS });
    const store = fakeStore();
    const failures: unknown[] = [];
    const live = createLiveSockets({ store, onCheckFailed: (e) => failures.push(e) });
    const a = socket(session('a'));
    live.watch(a);
    store.failing = true;
    store.kill('a');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(store.asked).toHaveLength(3);
    expect(failures).toHaveLength(3);
    expect(a.ended).toEqual([]);
    store.failing = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(a.ended).toEqual([[CLOSE_SESSION_ENDED, 'session ended']]);
    // Nothing left to watch: the timer stops asking.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(store.asked).toHaveLength(4);
    live.close();
  });

  it('ends a socket with 4403 when its token expires, or 4401 at the session’s absolute end if earlier', async () => {
    vi.useFakeTimers({ now: NOW_MS });
    const store = fakeStore();
    const live = createLiveSockets({ store });
    const byToken = socket(session('a'), nowS + 5);
    const byEnd = socket(session('b', { expiresAt: nowS + 3 }), nowS + 5);
    const noToken = socket(undefined, undefined);
    for (const s of [byToken, byEnd, noToken]) live.watch(s);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(byEnd.ended).toEqual([[CLOSE_SESSION_ENDED, 'session ended']]);
    expect(byToken.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(byToken.ended).toEqual([[CLOSE_TOKEN_EXPIRED, 'access token expired']]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(noToken.ended).toEqual([]);
    live.endAll(CLOSE_GOING_AWAY, 'server shutting down');
    expect(noToken.ended).toEqual([[CLOSE_GOING_AWAY, 'server shutting down']]);
    expect(live.size).toBe(0);
    live.close();
  });

  it('a socket that closed by itself is no longer watched, and is ended at most once', async () => {
    vi.useFakeTimers({ now: NOW_MS });
    const store = fakeStore();
    const live = createLiveSockets({ store });
    const a = socket(session('a'), nowS + 1);
    const stop = live.watch(a);
    stop();
    await vi.advanceTimersByTimeAsync(2_000);
    store.tell(['a']);
    live.endAll(CLOSE_GOING_AWAY, 'bye');
    expect(a.ended).toEqual([]);
    expect(store.asked).toEqual([]);
    live.close();
  });
});
