import type { ClientRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUpstreamClock } from './upstream-clock.ts';

/** A stand-in for a `ClientRequest`: what the clock looks at. */
function request() {
  const socket = { bytesRead: 0, bytesWritten: 0 };
  const req = { socket: socket as unknown, writableFinished: false };
  return { req, socket, asRequest: req as unknown as ClientRequest };
}

describe('createUpstreamClock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const clockOf = (timeoutMs: number) => createUpstreamClock(timeoutMs, () => Date.now());

  it('times out a connection that stays silent, within 1.25 × the timeout', () => {
    const { asRequest } = request();
    const onTimeout = vi.fn();
    clockOf(1_000).watch(asRequest, onTimeout);
    vi.advanceTimersByTime(750);
    expect(onTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5_000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('lets a slow upload run while bytes flow, then gives the upstream the timeout from the moment it is sent', () => {
    const { req, socket, asRequest } = request();
    const onTimeout = vi.fn();
    clockOf(1_000).watch(asRequest, onTimeout);
    for (let i = 0; i < 20; i++) {
      socket.bytesWritten += 1024;
      vi.advanceTimersByTime(250);
    }
    expect(onTimeout).not.toHaveBeenCalled();
    req.writableFinished = true;
    for (let i = 0; i < 3; i++) {
      // Bytes still move (say, TCP keep-alive or a 100-continue), but no status line comes.
      socket.bytesRead += 1;
      vi.advanceTimersByTime(250);
    }
    expect(onTimeout).not.toHaveBeenCalled();
    for (let i = 0; i < 3; i++) {
      socket.bytesRead += 1;
      vi.advanceTimersByTime(250);
    }
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('after the status line, only silence counts; stop() ends every clock', () => {
    const { req, socket, asRequest } = request();
    const onTimeout = vi.fn();
    const watched = clockOf(1_000).watch(asRequest, onTimeout);
    req.writableFinished = true;
    watched.responded();
    for (let i = 0; i < 20; i++) {
      socket.bytesRead += 1024;
      vi.advanceTimersByTime(250);
    }
    expect(onTimeout).not.toHaveBeenCalled();
    watched.stop();
    vi.advanceTimersByTime(10_000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('keeps watching the others when one in the middle stops, and stops each once', () => {
    const clock = clockOf(1_000);
    const calls = [vi.fn(), vi.fn(), vi.fn(), vi.fn()];
    const watched = calls.map((onTimeout) => clock.watch(request().asRequest, onTimeout));
    watched[1]?.stop();
    watched[1]?.stop();
    watched[3]?.stop();
    vi.advanceTimersByTime(1_250);
    expect(calls.map((call) => call.mock.calls.length)).toEqual([1, 0, 1, 0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts both clocks again for a replacing attempt, and runs no timer when idle', () => {
    const first = request();
    const second = request();
    const onTimeout = vi.fn();
    const watched = clockOf(1_000).watch(first.asRequest, onTimeout);
    vi.advanceTimersByTime(750);
    watched.replace(second.asRequest);
    vi.advanceTimersByTime(750);
    expect(onTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
