import WebSocket from 'ws';

/**
 * Two open WebSockets (the browser's and the upstream's) joined: messages both ways as they came
 * (text stays text, binary stays binary), close codes passed on, memory bounded.
 *
 * **Back-pressure.** A message is read from one side only as fast as the other side takes it: once
 * the receiving side has more than {@link MAX_BUFFERED_BYTES} queued for its socket, the sending
 * side is paused with `WebSocket#pause()` (ws's public API since 8.6: it stops reading from the
 * socket, so TCP flow control pushes back on the sender), and resumed by the send callback that
 * finds the queue drained below {@link RESUME_BELOW_BYTES}. Not `createWebSocketStream`: a stream
 * would hide the text/binary flag of each message, and `pause()` says exactly what is meant. A few
 * messages already read may still arrive after pausing: the excess is bounded by the socket's
 * read buffer and {@link MAX_PAYLOAD_BYTES} per message.
 *
 * **Dead peers.** Each side is pinged every {@link HEARTBEAT_MS}; one that has not answered the
 * previous ping (nor sent anything) by then is cut, and the other side closed with 1011. A paused
 * side reads nothing, pongs included, so it is not judged while paused.
 */

/** Largest message accepted from either side (ws closes with 1009 past it). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Bytes queued towards one side beyond which the other side is no longer read. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** The paused side is read again once the queue is below this. */
const RESUME_BELOW_BYTES = 1024 * 1024;
export const HEARTBEAT_MS = 30_000;

/** Which side closed first, or the BFF (session, token, shutdown). */
export type ClosedBy = 'browser' | 'upstream' | 'bff';

export interface RelayClosed {
  /** The code the browser's socket ended with (what it received or sent). */
  readonly code: number;
  readonly by: ClosedBy;
}

export interface Relay {
  /** Closes the browser's side with `code` and the upstream's with `upstreamCode` (close handshakes). */
  end(code: number, reason: string, upstreamCode?: number): void;
  /** Cuts both sides at once (no close handshake): the end of the shutdown grace. */
  terminate(): void;
}

const isSendable = (code: number) =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
  (code >= 3000 && code <= 4999);

/**
 * The code to pass on for a close `code` received from one side (RFC 6455 §7.4): sendable codes
 * as they are; 1005 (the peer sent no code, a normal close) as 1000; 1006 (the connection was lost
 * without a close frame), 1015 (TLS failure) and anything else that may not be sent as 1011.
 */
export function relayedCloseCode(code: number): number {
  if (isSendable(code)) return code;
  return code === 1005 ? 1000 : 1011;
}

export function startRelay(
  browser: WebSocket,
  upstream: WebSocket,
  onClosed: (closed: RelayClosed) => void,
): Relay {
  let by: ClosedBy | undefined;
  /** The code the BFF closed the browser's side with, when it did. */
  let endCode: number | undefined;
  let browserCode: number | undefined;
  let upstreamClosed = false;
  const done = () => {
    if (browserCode === undefined || !upstreamClosed) return;
    clearInterval(heartbeat);
    onClosed({ code: endCode ?? browserCode, by: by ?? 'browser' });
  };

  const forward = (from: WebSocket, to: WebSocket) => (data: WebSocket.RawData, isBinary: boolean) => {
    alive.add(from);
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < RESUME_BELOW_BYTES) from.resume();
    });
    if (to.bufferedAmount > MAX_BUFFERED_BYTES && !from.isPaused) from.pause();
  };
  browser.on('message', forward(browser, upstream));
  upstream.on('message', forward(upstream, browser));

  const closeOther = (other: WebSocket, code: number, reason: Buffer, lost: string) => {
    if (other.readyState !== WebSocket.OPEN) return;
    const relayed = relayedCloseCode(code);
    // A lost connection has no reason of its own; the mapped code gets a word of explanation.
    other.close(relayed, relayed === code ? reason : relayed === 1011 ? lost : '');
  };
  browser.on('close', (code, reason) => {
    by ??= 'browser';
    browserCode = code;
    closeOther(upstream, code, reason, 'browser connection lost');
    // Paused, the upstream would never read the close frame answering ours.
    upstream.resume();
    done();
  });
  upstream.on('close', (code, reason) => {
    by ??= 'upstream';
    upstreamClosed = true;
    closeOther(browser, code, reason, 'upstream connection lost');
    browser.resume();
    done();
  });
  // Errors are followed by 'close' (handled above); without a listener they would be thrown.
  browser.on('error', () => {});
  upstream.on('error', () => {});

  const alive = new Set<WebSocket>([browser, upstream]);
  const pong = (side: WebSocket) => () => alive.add(side);
  browser.on('pong', pong(browser));
  upstream.on('pong', pong(upstream));
  const heartbeat = setInterval(() => {
    for (const side of [browser, upstream]) {
      if (side.readyState !== WebSocket.OPEN || side.isPaused) continue;
      if (!alive.has(side)) {
        side.terminate();
        continue;
      }
      alive.delete(side);
      side.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  upstream.resume();
  return {
    end(code, reason, upstreamCode = 1000) {
      by ??= 'bff';
      browser.resume();
      upstream.resume();
      if (browser.readyState === WebSocket.OPEN) {
        endCode = code;
        browser.close(code, reason);
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.close(upstreamCode, reason);
    },
    terminate() {
      by ??= 'bff';
      browser.terminate();
      upstream.terminate();
    },
  };
}
