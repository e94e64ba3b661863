import type { ClientRequest } from 'node:http';

/**
 * The `/api` proxy's two clocks for every upstream request, kept by one timer for all of them
 * rather than by timers and socket listeners per request (which cost more per request than the
 * rest of the clock work together, bench/FINDINGS.md):
 *
 * - the wait for the status line, from the moment the request (body included) is sent: a slow
 *   upload is the client's pace, not the upstream's;
 * - silence on the connection at any point: waiting for a connection or a pooled socket,
 *   connecting, a request body that stops flowing, or a response body that stops.
 *
 * Either one running past `timeoutMs` calls the request's `onTimeout`. The timer checks every
 * quarter of `timeoutMs` (at most every second), so a timeout fires within 1.25 × `timeoutMs`.
 */
export interface UpstreamClock {
  /** Starts both clocks for `req`; `onTimeout` is called at most once. */
  watch(req: ClientRequest, onTimeout: () => void): Watched;
}

export interface Watched {
  /** The status line arrived: only the silence clock runs from now on. */
  responded(): void;
  /** A new attempt (a DPoP retry) replaces the request: both clocks start again. */
  replace(req: ClientRequest): void;
  /** The exchange is over (answered, failed or abandoned): no clock runs. */
  stop(): void;
}

class Entry implements Watched {
  /** When the request was seen sent whole; 0 until then. */
  sentAt = 0;
  hasResponse = false;
  /** Bytes read and written on its socket when last looked at (-1: not yet looked). */
  bytes = -1;
  /** When those bytes last changed (or the clock started). */
  activeAt: number;
  /** Neighbours in the clock's list of watched requests (`undefined` at its ends, or when not in it). */
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  listed = false;

  constructor(
    public req: ClientRequest,
    readonly onTimeout: () => void,
    private readonly clock: Clock,
  ) {
    this.activeAt = clock.nowMs();
    clock.track(this);
  }

  responded(): void {
    this.hasResponse = true;
  }

  replace(req: ClientRequest): void {
    this.req = req;
    this.sentAt = 0;
    this.hasResponse = false;
    this.bytes = -1;
    this.activeAt = this.clock.nowMs();
    this.clock.track(this);
  }

  stop(): void {
    this.clock.untrack(this);
  }
}

class Clock implements UpstreamClock {
  /**
   * The watched requests, as a doubly linked list. A `Set` of them cost the BFF a third more CPU
   * per request and 30 MB more RSS under load (bench/FINDINGS.md §7); linking allocates nothing.
   */
  #head: Entry | undefined;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    readonly nowMs: () => number,
  ) {
    this.#tickMs = Math.max(10, Math.min(1_000, Math.floor(timeoutMs / 4)));
  }

  watch(req: ClientRequest, onTimeout: () => void): Watched {
    return new Entry(req, onTimeout, this);
  }

  track(entry: Entry): void {
    if (!entry.listed) {
      entry.listed = true;
      entry.prev = undefined;
      entry.next = this.#head;
      if (this.#head) this.#head.prev = entry;
      this.#head = entry;
    }
    // An idle BFF keeps no timer; one runs while anything is in flight. It never holds the process open.
    this.#timer ??= setInterval(() => this.#check(), this.#tickMs).unref();
  }

  untrack(entry: Entry): void {
    if (!entry.listed) return;
    entry.listed = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  #check(): void {
    const t = this.nowMs();
    for (let entry = this.#head; entry; ) {
      const following = entry.next;
      const { req } = entry;
      const socket = req.socket;
      const bytes = socket ? socket.bytesRead + socket.bytesWritten : 0;
      if (bytes !== entry.bytes) {
        entry.bytes = bytes;
        entry.activeAt = t;
      }
      if (entry.sentAt === 0 && req.writableFinished) entry.sentAt = t;
      const waited = !entry.hasResponse && entry.sentAt > 0 && t - entry.sentAt >= this.timeoutMs;
      if (waited || t - entry.activeAt >= this.timeoutMs) {
        this.untrack(entry);
        entry.onTimeout();
      }
      entry = following;
    }
    if (!this.#head) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

export function createUpstreamClock(
  timeoutMs: number,
  nowMs: () => number = () => performance.now(),
): UpstreamClock {
  return new Clock(timeoutMs, nowMs);
}
