import { describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  connectLiveItems,
  type LiveItemsOptions,
  type LiveStatus,
  liveItemsUrl,
} from './live-items.ts';
import { fakeSockets, manualTimers } from './testing/fake-socket.ts';

const URL = 'ws://localhost:8000/api/live';
const ITEM = { id: '1', name: 'milk', createdAt: '2025-01-01T00:00:00.000Z' };

/** A connection over fake sockets and manual timers, with every callback recorded. */
function start(overrides: Partial<LiveItemsOptions> = {}) {
  const sockets = fakeSockets();
  const timers = manualTimers();
  const statuses: LiveStatus[] = [];
  const onItems = vi.fn();
  const onSessionEnded = vi.fn();
  const onPaused = vi.fn();
  const live = connectLiveItems({
    url: URL,
    openSocket: sockets.open,
    onItems,
    onSessionEnded,
    onPaused,
    onStatus: (status) => statuses.push(status),
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    ...overrides,
  });
  return { live, sockets, timers, statuses, onItems, onSessionEnded, onPaused };
}

describe('liveItemsUrl', () => {
  it.each([
    [{ protocol: 'http:', host: 'localhost:8000' }, 'ws://localhost:8000/api/live'],
    [{ protocol: 'https:', host: 'app.example.com' }, 'wss://app.example.com/api/live'],
  ])('uses the page origin with a ws scheme: %o', (location, url) => {
    expect(liveItemsUrl(location)).toBe(url);
  });
});

describe('backoffDelay', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(backoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
});

describe('connectLiveItems', () => {
  it('opens one socket to the URL and hands over each list it receives', () => {
    const { sockets, statuses, onItems } = start();
    expect(sockets.sockets.map((s) => s.url)).toEqual([URL]);
    expect(statuses).toEqual(['connecting']);
    sockets.latest().open();
    expect(statuses).toEqual(['connecting', 'live']);
    sockets.latest().receive({ type: 'items', items: [] });
    sockets.latest().receive({ type: 'items', items: [ITEM] });
    expect(onItems.mock.calls).toEqual([[[]], [[ITEM]]]);
  });

  it.each([
    ['another type', { type: 'hello' }],
    ['no items', { type: 'items' }],
    ['a malformed item', { type: 'items', items: [{ id: 1 }] }],
    ['not JSON', '{nope'],
  ])('ignores a message with %s', (_, message) => {
    const { sockets, onItems, onPaused } = start();
    sockets.latest().open();
    sockets.latest().receive(message);
    expect(onItems).not.toHaveBeenCalled();
    expect(onPaused).not.toHaveBeenCalled();
  });

  it('on 4401 reports the session ended and stops: no reconnect, no pause', () => {
    const { sockets, timers, onSessionEnded, onPaused } = start();
    sockets.latest().open();
    sockets.latest().closeFromServer(4401);
    expect(onSessionEnded).toHaveBeenCalledOnce();
    expect(onPaused).not.toHaveBeenCalled();
    expect(sockets.sockets).toHaveLength(1);
    expect(timers.pending()).toEqual([]);
  });

  it('on 4403 reconnects at once, every time a message came in between', () => {
    const { sockets, timers, onItems } = start();
    for (let round = 1; round <= 3; round++) {
      sockets.latest().open();
      sockets.latest().receive({ type: 'items', items: [] });
      sockets.latest().closeFromServer(4403);
      expect(sockets.sockets).toHaveLength(round + 1);
      expect(timers.pending()).toEqual([]);
    }
    expect(onItems).toHaveBeenCalledTimes(3);
  });

  it('on a second 4403 without a message in between, backs off instead of looping', () => {
    const { sockets, timers, statuses } = start();
    sockets.latest().open();
    sockets.latest().closeFromServer(4403);
    expect(sockets.sockets).toHaveLength(2);
    sockets.latest().closeFromServer(4403);
    expect(sockets.sockets).toHaveLength(2);
    expect(timers.pending()).toEqual([1000]);
    expect(statuses.at(-1)).toBe('reconnecting');
    timers.fire();
    expect(sockets.sockets).toHaveLength(3);
    // A message ends the episode: the next 4403 reconnects at once again.
    sockets.latest().receive({ type: 'items', items: [] });
    sockets.latest().closeFromServer(4403);
    expect(sockets.sockets).toHaveLength(4);
  });

  it('on 1001 reconnects after 1 s, 2 s, 4 s, … at most 30 s, and starts over after a message', () => {
    const { sockets, timers, statuses, onPaused } = start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      sockets.latest().closeFromServer(1001);
      delays.push(...timers.pending());
      expect(statuses.at(-1)).toBe('reconnecting');
      timers.fire();
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(sockets.sockets).toHaveLength(8);
    sockets.latest().open();
    expect(statuses.at(-1)).toBe('live');
    sockets.latest().receive({ type: 'items', items: [] });
    sockets.latest().closeFromServer(1001);
    expect(timers.pending()).toEqual([1000]);
    expect(onPaused).not.toHaveBeenCalled();
  });

  it.each([1000, 1006, 1008, 1011, 4000, 4404])(
    'on close %i pauses (onPaused with the code) and does not reconnect by itself',
    (code) => {
      const { sockets, timers, statuses, onPaused, onSessionEnded } = start();
      sockets.latest().open();
      sockets.latest().closeFromServer(code);
      expect(onPaused).toHaveBeenCalledWith(code);
      expect(statuses.at(-1)).toBe('paused');
      expect(sockets.sockets).toHaveLength(1);
      expect(timers.pending()).toEqual([]);
      expect(onSessionEnded).not.toHaveBeenCalled();
    },
  );

  it('retry() after a pause opens a new socket', () => {
    const { live, sockets, statuses, onItems } = start();
    sockets.latest().closeFromServer(1006);
    live.retry();
    expect(sockets.sockets).toHaveLength(2);
    expect(statuses.at(-1)).toBe('connecting');
    sockets.latest().receive({ type: 'items', items: [ITEM] });
    expect(onItems).toHaveBeenCalledWith([ITEM]);
  });

  it('retry() during a back-off connects now and resets the back-off', () => {
    const { live, sockets, timers } = start();
    sockets.latest().closeFromServer(1001);
    timers.fire();
    sockets.latest().closeFromServer(1001);
    expect(timers.pending()).toEqual([2000]);
    live.retry();
    expect(timers.pending()).toEqual([]);
    expect(sockets.sockets).toHaveLength(3);
    sockets.latest().closeFromServer(1001);
    expect(timers.pending()).toEqual([1000]);
  });

  it('pauses with 1006 when a socket cannot even be created', () => {
    const onPaused = vi.fn();
    start({
      openSocket: () => {
        throw new SyntaxError('bad URL');
      },
      onPaused,
    });
    expect(onPaused).toHaveBeenCalledWith(1006);
  });

  it('close() closes the socket with 1000 and then ignores it', () => {
    const { live, sockets, onItems, onPaused, onSessionEnded } = start();
    const socket = sockets.latest();
    socket.open();
    live.close();
    expect(socket.closedWith).toBe(1000);
    socket.receive({ type: 'items', items: [] });
    socket.closeFromServer(1006);
    socket.closeFromServer(4401);
    expect(onItems).not.toHaveBeenCalled();
    expect(onPaused).not.toHaveBeenCalled();
    expect(onSessionEnded).not.toHaveBeenCalled();
  });

  it('close() cancels a pending reconnect', () => {
    const { live, sockets, timers } = start();
    sockets.latest().closeFromServer(1001);
    live.close();
    expect(timers.pending()).toEqual([]);
    expect(sockets.sockets).toHaveLength(1);
  });

  it('ignores a socket replaced by retry()', () => {
    const { live, sockets, onItems, onPaused } = start();
    const old = sockets.latest();
    old.closeFromServer(1011);
    live.retry();
    old.receive({ type: 'items', items: [ITEM] });
    old.closeFromServer(1011);
    expect(onItems).not.toHaveBeenCalled();
    expect(onPaused).toHaveBeenCalledTimes(1);
  });
});
