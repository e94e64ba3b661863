/**
 * Test doubles for the live socket (`live-items.ts`): a fake `WebSocket` the test drives by hand
 * (open, a message, a close with a code), and timers that fire only when told. Injected through
 * `openSocket` / `setTimer`, never installed as globals.
 */
import type { LiveSocket, OpenSocket } from '../live-items.ts';

/** One fake socket; the test plays the server. */
export class FakeSocket implements LiveSocket {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  /** The code the client closed it with, if it did. */
  closedWith: number | undefined;

  constructor(readonly url: string) {}

  /** The handshake succeeded. */
  open(): void {
    this.onopen?.(new Event('open'));
  }

  /** A message from the server; objects are sent as JSON. */
  receive(data: unknown): void {
    this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) } as MessageEvent);
  }

  /** The server (or the network) closed it with `code`. */
  closeFromServer(code: number): void {
    this.onclose?.({ code } as CloseEvent);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1005;
  }
}

/** An `openSocket` that records every socket it opened, newest last. */
export function fakeSockets(): { open: OpenSocket; sockets: FakeSocket[]; latest(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    open: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    latest: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket was opened');
      return socket;
    },
  };
}

/** `setTimer`/`clearTimer` whose callbacks run only on {@link ManualTimers.fire}. */
export interface ManualTimers {
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** Delays of the timers still pending, in the order they were set. */
  pending(): number[];
  /** Runs the oldest pending timer; throws when there is none. */
  fire(): void;
}

export function manualTimers(): ManualTimers {
  let next = 1;
  const timers = new Map<number, { callback: () => void; ms: number }>();
  return {
    setTimer(callback, ms) {
      const id = next++;
      timers.set(id, { callback, ms });
      return id;
    },
    clearTimer(timer) {
      timers.delete(timer as number);
    },
    pending: () => [...timers.values()].map((t) => t.ms),
    fire() {
      const first = timers.entries().next().value;
      if (!first) throw new Error('no timer pending');
      timers.delete(first[0]);
      first[1].callback();
    },
  };
}
