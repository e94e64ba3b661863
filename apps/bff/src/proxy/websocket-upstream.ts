import type { OutgoingHttpHeaders } from 'node:http';
import WebSocket from 'ws';

/**
 * The upstream side of a proxied WebSocket: the handshake, bounded in time, with the DPoP nonce
 * retry (RFC 9449 §9, once), reduced to "open" or one of two refusals for the browser.
 */

export interface UpstreamDial {
  /** `ws:`/`wss:` URL: the route's upstream with the resolved path and the client's query. */
  readonly url: string;
  /** The subprotocols the browser offered, passed on as they are. */
  readonly protocols: readonly string[];
  /** The handshake's headers for one attempt (a DPoP proof is new per attempt, with the nonce). */
  readonly headers: (nonce: string | undefined) => OutgoingHttpHeaders;
  /** Connecting plus the handshake's answer, at most (the route's `timeoutMs`). */
  readonly timeoutMs: number;
  readonly maxPayload: number;
  /** DPoP-bound token: an answer `401` with `use_dpop_nonce` and a `DPoP-Nonce` is retried once. */
  readonly dpop: boolean;
  /** The latest nonce the upstream gave (kept by the caller for the next handshakes). */
  readonly onNonce?: (nonce: string) => void;
}

export type UpstreamOutcome =
  | { readonly ok: true; readonly socket: WebSocket }
  | {
      readonly ok: false;
      /** `upstream_timeout` (504) when the time ran out, `upstream_unavailable` (502) otherwise. */
      readonly code: 'upstream_unavailable' | 'upstream_timeout';
      /** For the log line: the upstream's status when it answered without upgrading, or the error. */
      readonly reason: string;
    };

export interface PendingUpstream {
  readonly result: Promise<UpstreamOutcome>;
  /** Gives up (the browser went away): a socket still connecting or already open is cut. */
  abort(): void;
}

/** Longest `DPoP-Nonce` value kept (the `/api` proxy's bound). */
const MAX_NONCE_CHARS = 512;

/**
 * Dials the upstream. The socket it resolves with is open and **paused** (no message is lost or
 * read before the caller has set up the relay; `resume()` it then).
 *
 * Why a clock of our own besides `ws`'s `handshakeTimeout`: that one is Node's socket idle
 * timeout, which an upstream dribbling its answer a byte at a time keeps from firing.
 */
export function dialUpstream(dial: UpstreamDial): PendingUpstream {
  let current: WebSocket | undefined;
  let settled = false;
  let resolve!: (outcome: UpstreamOutcome) => void;
  const result = new Promise<UpstreamOutcome>((r) => {
    resolve = r;
  });
  const finish = (outcome: UpstreamOutcome) => {
    if (settled) {
      if (outcome.ok) outcome.socket.terminate();
      return;
    }
    settled = true;
    clearTimeout(deadline);
    if (!outcome.ok) current?.terminate();
    resolve(outcome);
  };
  const deadline = setTimeout(
    () =>
      finish({
        ok: false,
        code: 'upstream_timeout',
        reason: `no handshake answer within ${dial.timeoutMs} ms`,
      }),
    dial.timeoutMs,
  );

  const attempt = (nonce: string | undefined, retried: boolean) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(dial.url, [...dial.protocols], {
        headers: dial.headers(nonce),
        maxPayload: dial.maxPayload,
        // No compression: memory and CPU per message stay bounded by `maxPayload`, and secrets
        // never share a compression context with attacker-chosen data (CRIME/BREACH).
        perMessageDeflate: false,
        handshakeTimeout: dial.timeoutMs,
        followRedirects: false,
      });
    } catch (error) {
      finish({
        ok: false,
        code: 'upstream_unavailable',
        reason: error instanceof Error ? error.message : 'error',
      });
      return;
    }
    current = socket;
    // Errors after the outcome (a late reset) are the relay's, or nobody's: never thrown.
    socket.on('error', (error) => {
      if (socket === current) finish({ ok: false, code: 'upstream_unavailable', reason: error.message });
    });
    socket.on('upgrade', (res) => {
      const given = res.headers['dpop-nonce'];
      if (typeof given === 'string' && given.length <= MAX_NONCE_CHARS) dial.onNonce?.(given);
    });
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const given = res.headers['dpop-nonce'];
      res.resume();
      if (typeof given === 'string' && given.length <= MAX_NONCE_CHARS) dial.onNonce?.(given);
      socket.terminate();
      if (
        dial.dpop &&
        !retried &&
        !settled &&
        status === 401 &&
        typeof given === 'string' &&
        given.length <= MAX_NONCE_CHARS &&
        /\buse_dpop_nonce\b/.test(String(res.headers['www-authenticate'] ?? ''))
      ) {
        attempt(given, true);
        return;
      }
      finish({ ok: false, code: 'upstream_unavailable', reason: `the upstream answered ${status}` });
    });
    socket.on('open', () => {
      if (socket !== current) {
        socket.terminate();
        return;
      }
      socket.pause();
      finish({ ok: true, socket });
    });
  };
  attempt(undefined, false);

  return {
    result,
    abort: () => finish({ ok: false, code: 'upstream_unavailable', reason: 'the browser went away' }),
  };
}
