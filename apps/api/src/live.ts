/**
 * `/live`: a WebSocket that pushes the caller's items, once at open and again after every change
 * (a `POST /items` by the same `sub`, over any connection). Plain `node:http` and `ws`: the
 * handshake is an `upgrade` event of the server, which Hono never sees, so the token is checked
 * here, with the same {@link verifyCredentials} as every HTTP request.
 *
 * | when | what |
 * |---|---|
 * | handshake without a valid token | HTTP 401 and `WWW-Authenticate`, as over HTTP; no upgrade |
 * | handshake, server at its socket limit or shutting down | HTTP 503 `service_unavailable` |
 * | open | `{"type":"items","items":[…]}` at once, then after each change of the caller's items |
 * | the accepted token's `exp` passes | close 1008 `access token expired` (no message ever goes out on an expired token) |
 * | the caller already has {@link DEFAULT_MAX_LISTENERS_PER_OWNER} sockets open | close 1008 `too many connections` |
 * | server shutting down | close 1001 |
 *
 * A DPoP-bound token comes as `Authorization: DPoP <token>` with a `DPoP` proof whose `htm` is
 * `GET` and `htu` the handshake's http(s) URL (`http://<Host>/live`, or `API_PUBLIC_URL` + `/live`):
 * RFC 9449 has no WebSocket rule, and the handshake is an HTTP GET to that URL.
 *
 * @see RFC 6455 (WebSocket), §7.4.1 (close codes), RFC 9449 §7 (DPoP)
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import { parseAuthorization } from './access-token.ts';
import { authChallenge, type BearerAuthOptions, verifyCredentials } from './bearer-auth.ts';
import { ApiError } from './errors.ts';
import type { Item, ItemStore } from './item-store.ts';

/** The path of the endpoint (the BFF's `/api/live` route forwards to it). */
export const LIVE_PATH = '/live';

/** What the server sends: the caller's whole list, oldest first. */
export interface LiveItemsMessage {
  type: 'items';
  items: readonly Item[];
}

/** Close codes and reasons the server sends (RFC 6455 §7.4.1). */
export const LIVE_CLOSE = Object.freeze({
  /** Shutdown: reconnect later, elsewhere. */
  goingAway: { code: 1001, reason: 'server shutting down' },
  /** The access token accepted at the handshake expired: reconnect with a fresh one. */
  tokenExpired: { code: 1008, reason: 'access token expired' },
  /** The caller already has the maximum of sockets open. */
  tooManyConnections: { code: 1008, reason: 'too many connections' },
  /** Reading the items failed. */
  internalError: { code: 1011, reason: 'internal error' },
});

/** Sockets open at once, all callers together; default of {@link LiveUpdatesOptions.maxConnections}. */
export const DEFAULT_MAX_LIVE_CONNECTIONS = 10_000;
/** A socket that answers no ping within this interval is dropped, freeing its slot. */
export const LIVE_HEARTBEAT_MS = 30_000;
/** Clients send nothing; a larger frame closes the socket (1009). */
const MAX_CLIENT_FRAME_BYTES = 1024;
/** A client this far behind in reading (a full list is at most ~300 KB) is dropped, not buffered for. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** `setTimeout`'s largest delay; a later `exp` is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LiveUpdatesOptions extends BearerAuthOptions {
  store: ItemStore;
  logError: (message: string, err: unknown) => void;
  /** Default {@link DEFAULT_MAX_LIVE_CONNECTIONS}. */
  maxConnections?: number;
  /** Clock of the `exp` checks, in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** The `/live` endpoint of one server. */
export interface LiveUpdates {
  /**
   * The server's `upgrade` listener: a valid handshake to `/live` becomes a socket; anything else
   * is answered with an HTTP error and closed.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket with 1001 and refuses new handshakes (503); call on shutdown. */
  close(): void;
  /** Sockets open now. */
  readonly size: number;
}

/** Writes an HTTP error answer to a socket that will not be upgraded, and closes it. */
function refuse(socket: Duplex, err: ApiError, extraHeaders: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: err.code, message: err.message });
  const challenge = authChallenge(err);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...(challenge ? { 'WWW-Authenticate': challenge } : {}),
    ...extraHeaders,
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\n${head}\r\n${body}`);
}

/** The handshake's URL as the HTTP path builds it (`c.req.url`): scheme of the connection, authority from `Host`. */
function handshakeUrl(req: IncomingMessage): URL | undefined {
  const host = req.headers.host;
  const target = req.url ?? '';
  if (!host || !target.startsWith('/') || target.startsWith('//')) return undefined;
  const scheme = (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
  try {
    const url = new URL(`${scheme}://${host}${target}`);
    // A Host with a path, query or user information would move the URL elsewhere: refuse it.
    const hostname = host.replace(/:\d+$/, '').toLowerCase();
    return url.hostname === hostname && !url.username && !url.password ? url : undefined;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Builds the `/live` endpoint. Attach {@link LiveUpdates.handleUpgrade} to the server's `upgrade`
 * event (`createApi` does, see `app.ts`).
 */
export function createLiveUpdates(options: LiveUpdatesOptions): LiveUpdates {
  const { store, logError } = options;
  const now = options.now ?? Date.now;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_LIVE_CONNECTIONS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  /** Open sockets, and whether each answered the last ping. */
  const sockets = new Map<WebSocket, { alive: boolean }>();
  /** Handshakes being checked: they count against the limit too. */
  let pending = 0;
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  /** The `DPoP-Nonce` to add to a handshake's 101 answer. */
  const nonces = new WeakMap<IncomingMessage, string>();

  wss.on('headers', (headers, req) => {
    const nonce = nonces.get(req);
    if (nonce !== undefined) headers.push(`DPoP-Nonce: ${nonce}`);
  });

  function startHeartbeat(): void {
    heartbeat ??= setInterval(() => {
      for (const [ws, state] of sockets) {
        if (!state.alive) {
          ws.terminate();
          continue;
        }
        state.alive = false;
        ws.ping();
      }
    }, LIVE_HEARTBEAT_MS).unref();
  }

  function stopHeartbeatWhenIdle(): void {
    if (sockets.size > 0 || heartbeat === undefined) return;
    clearInterval(heartbeat);
    heartbeat = undefined;
  }

  /** Serves one open socket: its list now and after each change, until close or `exp`. */
  function serve(ws: WebSocket, owner: string, expiresAtMs: number): void {
    ws.on('error', () => {
      // Protocol errors (an oversized or unmasked frame) close the socket; nothing to add.
    });
    const unsubscribe = store.subscribe(owner, () => void send());
    if (unsubscribe === undefined) {
      ws.close(LIVE_CLOSE.tooManyConnections.code, LIVE_CLOSE.tooManyConnections.reason);
      return;
    }
    const state = { alive: true };
    sockets.set(ws, state);
    startHeartbeat();
    ws.on('pong', () => {
      state.alive = true;
    });

    let expiryTimer: NodeJS.Timeout | undefined;
    const closeIfExpired = (): boolean => {
      if (now() < expiresAtMs) return false;
      ws.close(LIVE_CLOSE.tokenExpired.code, LIVE_CLOSE.tokenExpired.reason);
      return true;
    };
    const armExpiry = () => {
      if (closeIfExpired()) return;
      expiryTimer = setTimeout(armExpiry, Math.min(expiresAtMs - now(), MAX_TIMER_MS));
    };

    ws.on('close', () => {
      unsubscribe();
      clearTimeout(expiryTimer);
      sockets.delete(ws);
      stopHeartbeatWhenIdle();
    });

    // Changes during a read are coalesced: one more read after it, never two sends out of order.
    let reading = false;
    let changedSinceRead = false;
    async function send(): Promise<void> {
      if (reading) {
        changedSinceRead = true;
        return;
      }
      reading = true;
      try {
        do {
          changedSinceRead = false;
          const items = await store.list(owner);
          if (ws.readyState !== ws.OPEN || closeIfExpired()) return;
          if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
            ws.terminate();
            return;
          }
          const message: LiveItemsMessage = { type: 'items', items };
          ws.send(JSON.stringify(message));
        } while (changedSinceRead);
      } catch (err) {
        logError('live: reading the items failed', err);
        ws.close(LIVE_CLOSE.internalError.code, LIVE_CLOSE.internalError.reason);
      } finally {
        reading = false;
      }
    }

    armExpiry();
    if (ws.readyState === ws.OPEN) void send();
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = handshakeUrl(req);
    if (url === undefined) {
      refuse(socket, new ApiError('bad_request', 400, 'The request has no usable Host or target'));
      return;
    }
    if (url.pathname !== LIVE_PATH) {
      refuse(socket, new ApiError('not_found', 404, 'No such route'));
      return;
    }
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuse(socket, new ApiError('bad_request', 400, 'Only WebSocket handshakes are upgraded here'));
      return;
    }
    if (closed || sockets.size + pending >= maxConnections) {
      refuse(
        socket,
        new ApiError('service_unavailable', 503, 'The server takes no more live connections now'),
        { 'Retry-After': '5' },
      );
      return;
    }

    pending += 1;
    let nonce: string | undefined;
    let owner: string;
    let expiresAtMs: number;
    try {
      const { scheme, token } = parseAuthorization(headerValue(req.headers.authorization));
      nonce = scheme === 'DPoP' ? options.dpop.currentNonce() : undefined;
      const claims = await verifyCredentials(
        { scheme, token, proof: headerValue(req.headers.dpop) ?? null, method: req.method, url: url.href },
        options,
      );
      owner = claims.sub;
      expiresAtMs = claims.exp * 1000;
    } catch (err) {
      const apiError =
        err instanceof ApiError ? err : new ApiError('internal_error', 500, 'Something went wrong');
      if (apiError.status >= 500) logError(`live: ${apiError.code}: ${apiError.message}`, err);
      refuse(socket, apiError, nonce === undefined ? {} : { 'DPoP-Nonce': nonce });
      return;
    } finally {
      pending -= 1;
    }

    // The client may have gone, or shutdown begun, while the token was checked.
    if (socket.destroyed) return;
    if (closed) {
      refuse(
        socket,
        new ApiError('service_unavailable', 503, 'The server takes no more live connections now'),
      );
      return;
    }
    if (nonce !== undefined) nonces.set(req, nonce);
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, owner, expiresAtMs));
  }

  return {
    handleUpgrade(req, socket, head) {
      // Until ws owns the socket, a reset by the client must not become an uncaught 'error'.
      socket.on('error', () => socket.destroy());
      upgrade(req, socket, head).catch((err: unknown) => {
        logError('live: unexpected error in the handshake', err);
        socket.destroy();
      });
    },
    close() {
      closed = true;
      for (const ws of sockets.keys()) ws.close(LIVE_CLOSE.goingAway.code, LIVE_CLOSE.goingAway.reason);
    },
    get size() {
      return sockets.size;
    },
  };
}
