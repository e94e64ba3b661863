/**
 * The items page's WebSocket to the BFF (`/api/live`, relayed to the sample API's `/live`): the
 * user's items arrive as `{"type":"items","items":[…]}` at open and after every change. The
 * browser cannot add headers to a WebSocket: the session cookie authenticates it and the BFF
 * checks its `Origin` instead of `X-CSRF`.
 *
 * What a close means, and what this does about it:
 *
 * | close code | meaning (the BFF's) | here |
 * |---|---|---|
 * | 4401 | the session ended | `onSessionEnded`: the same path as a 401 from `/api` |
 * | 4403 | the access token the upstream accepted expired | reconnect at once (the BFF sends a fresh one) |
 * | 1001 | server going away | reconnect after 1 s, 2 s, 4 s, … at most 30 s |
 * | any other, or no socket at all | | `onPaused`: the page falls back to HTTP and offers a retry |
 *
 * The back-off starts again from 1 s once a connection delivers a message. A 4403 right after a
 * 4403 with no message in between is treated like 1001, so a token the BFF cannot renew does not
 * turn into a reconnect loop.
 *
 * No I/O of its own: the socket and the timers are passed in, so tests drive every rule.
 */
import { type Item, parseLiveMessage } from './api.ts';

/** Close codes the BFF sends the browser on the live socket. */
export const LIVE_CLOSE_CODES = Object.freeze({
  sessionEnded: 4401,
  tokenExpired: 4403,
  goingAway: 1001,
});

/** The first reconnect delay after a 1001, doubled on each further one. */
export const LIVE_BACKOFF_FIRST_MS = 1_000;
export const LIVE_BACKOFF_MAX_MS = 30_000;

/** The part of the browser's `WebSocket` used here; tests pass a fake. */
export interface LiveSocket {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  close(code?: number, reason?: string): void;
}

/** Opens a socket to `url`; may throw (no WebSocket support, a URL the browser refuses). */
export type OpenSocket = (url: string) => LiveSocket;

/** The browser's own WebSocket. */
export const openBrowserSocket: OpenSocket = (url) => new WebSocket(url);

/** Where the connection stands, for the page to show. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'paused';

export interface LiveItemsOptions {
  /** `ws(s)://<origin>/api/live`: see {@link liveItemsUrl}. */
  url: string;
  /** Default: {@link openBrowserSocket}. */
  openSocket?: OpenSocket;
  /** The user's whole list, each time it arrives. */
  onItems(items: Item[]): void;
  /** Closed with 4401: the session is gone. Nothing is retried. */
  onSessionEnded(): void;
  /** Closed for another reason (the close code; 1006 when it never opened). Nothing is retried until {@link LiveItems.retry}. */
  onPaused(code: number): void;
  onStatus?(status: LiveStatus): void;
  /** Default: the global timers. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/** A running live connection. */
export interface LiveItems {
  /** After a pause (or during a back-off): connect now, back-off reset. */
  retry(): void;
  /** Leaves for good: closes the socket (1000) and cancels any pending reconnect. */
  close(): void;
}

/** The live socket's URL on the page's own origin: `wss:` for an https page, `ws:` for http. */
export function liveItemsUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/live`;
}

/** The delay before reconnect number `attempt` (0-based) after 1001s: 1 s, 2 s, 4 s, … ≤ 30 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(LIVE_BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 30), LIVE_BACKOFF_MAX_MS);
}

/** Opens the live socket and keeps it open by the rules above, until {@link LiveItems.close}. */
export function connectLiveItems(options: LiveItemsOptions): LiveItems {
  const openSocket = options.openSocket ?? openBrowserSocket;
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  let socket: LiveSocket | undefined;
  let timer: unknown;
  let stopped = false;
  /** Reconnects after 1001 (or repeated 4403) since the last message. */
  let attempt = 0;
  /** A socket closed with 4403 since the last message: another 4403 then waits like a 1001. */
  let expiredSinceMessage = false;

  const status = (value: LiveStatus) => options.onStatus?.(value);

  function cancelTimer(): void {
    if (timer === undefined) return;
    clearTimer(timer);
    timer = undefined;
  }

  function connect(): void {
    cancelTimer();
    if (stopped) return;
    status(attempt === 0 && !expiredSinceMessage ? 'connecting' : 'reconnecting');
    let current: LiveSocket;
    try {
      current = openSocket(options.url);
    } catch {
      socket = undefined;
      pause(1006);
      return;
    }
    socket = current;
    current.onopen = () => {
      if (socket === current) status('live');
    };
    current.onmessage = (event) => {
      if (socket !== current) return;
      const items = parseLiveMessage(event.data);
      if (items === undefined) return;
      attempt = 0;
      expiredSinceMessage = false;
      options.onItems(items);
    };
    current.onclose = (event) => {
      if (socket !== current || stopped) return;
      socket = undefined;
      onClosed(event.code);
    };
  }

  function onClosed(code: number): void {
    if (code === LIVE_CLOSE_CODES.sessionEnded) {
      stopped = true;
      options.onSessionEnded();
      return;
    }
    if (code === LIVE_CLOSE_CODES.tokenExpired && !expiredSinceMessage) {
      expiredSinceMessage = true;
      connect();
      return;
    }
    if (code === LIVE_CLOSE_CODES.goingAway || code === LIVE_CLOSE_CODES.tokenExpired) {
      status('reconnecting');
      timer = setTimer(connect, backoffDelay(attempt));
      attempt += 1;
      return;
    }
    pause(code);
  }

  function pause(code: number): void {
    status('paused');
    options.onPaused(code);
  }

  connect();

  return {
    retry() {
      if (stopped) return;
      attempt = 0;
      expiredSinceMessage = false;
      const previous = socket;
      socket = undefined;
      previous?.close(1000);
      connect();
    },
    close() {
      stopped = true;
      cancelTimer();
      const previous = socket;
      socket = undefined;
      previous?.close(1000);
    },
  };
}
