import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { DpopKey } from '../oidc/dpop.ts';
import { createDpopProof, proofKeyOf } from '../oidc/dpop.ts';
import { type ForwardedFor, type HeaderList, upstreamRequestHeaders } from './headers.ts';
import { MAX_PAYLOAD_BYTES } from './websocket-relay.ts';

/**
 * The browser's side of a WebSocket handshake, checked before anything else is done for it (no
 * session read, no upstream connection): what `ws`'s `handleUpgrade` would refuse later is
 * refused now, so that the upstream is never dialled for a handshake that cannot complete.
 *
 * @see RFC 6455 §4.2.1 (what a server checks in the client's opening handshake)
 */

/** `Sec-WebSocket-Key`: base64 of 16 bytes. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol name is an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** More subprotocols than any app offers: the list is not worth forwarding. */
const MAX_PROTOCOLS = 16;

export type ClientHandshake =
  | { readonly ok: true; readonly protocols: readonly string[] }
  | { readonly ok: false; readonly reason: string };

export function checkClientHandshake(req: IncomingMessage): ClientHandshake {
  if (req.method !== 'GET') return { ok: false, reason: 'a WebSocket handshake is a GET' };
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return { ok: false, reason: 'the Upgrade header is not websocket' };
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key))
    return { ok: false, reason: 'Sec-WebSocket-Key is missing or invalid' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8')
    return { ok: false, reason: 'Sec-WebSocket-Version is missing or not 13' };
  const offered = req.headers['sec-websocket-protocol'];
  if (offered === undefined) return { ok: true, protocols: [] };
  const protocols = offered.split(',').map((p) => p.trim());
  if (protocols.length > MAX_PROTOCOLS || protocols.some((p) => !TOKEN.test(p)))
    return { ok: false, reason: 'Sec-WebSocket-Protocol is not a list of tokens' };
  if (new Set(protocols).size !== protocols.length)
    return { ok: false, reason: 'Sec-WebSocket-Protocol names a subprotocol twice' };
  return { ok: true, protocols };
}

/**
 * The upstream handshake's headers, from the `/api` header table's list (`upstreamRequestHeaders`:
 * the client's minus cookies, credentials, hop-by-hop and identity fields, plus the token and
 * `X-Forwarded-*`), as the object `ws` takes, minus what `ws` writes itself: `Host` (from the URL)
 * and every `Sec-WebSocket-*` (its own key and version; the offered subprotocols are passed to it
 * separately; no extension is negotiated).
 */
export function upstreamHandshakeHeaders(list: HeaderList): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    if (name === 'host' || name.startsWith('sec-websocket-')) continue;
    const known = out[name];
    if (known === undefined) out[name] = value;
    else if (typeof known === 'string') out[name] = [known, value];
    else known.push(value);
  }
  return out;
}

/** The token the upstream handshake carries (a session's, or the client-credentials one). */
export interface HandshakeToken {
  readonly accessToken: string;
  readonly dpopKey?: DpopKey;
}

export interface UpstreamHandshakeRequest {
  /** The route's upstream base URL (http/https). */
  readonly upstream: URL;
  /** The resolved upstream path (no query): with the upstream's origin, the DPoP proof's `htu`. */
  readonly path: string;
  readonly token: HandshakeToken | undefined;
  readonly forwarded: ForwardedFor;
  /** Adds trace context to the list (with tracing on). */
  readonly decorate?: (list: HeaderList) => void;
}

/**
 * The upstream handshake's headers for one attempt: the header table's (`Authorization: Bearer`
 * or `DPoP` with the token, none without one), a fresh DPoP proof (`htm` GET, `htu` the
 * handshake's http(s) URL without its query, the upstream's `nonce` when it gave one), trace
 * context.
 */
export function upstreamHandshakeHeadersFor(
  req: IncomingMessage,
  handshake: UpstreamHandshakeRequest,
  nonce: string | undefined,
): OutgoingHttpHeaders {
  const { upstream, path, token } = handshake;
  const authorization =
    token && (token.dpopKey ? `DPoP ${token.accessToken}` : `Bearer ${token.accessToken}`);
  const list = upstreamRequestHeaders(req.headers, upstream.host, authorization, handshake.forwarded);
  if (token?.dpopKey) {
    const proof = createDpopProof(proofKeyOf(token.dpopKey, token.accessToken), {
      method: 'GET',
      url: `${upstream.origin}${path}`,
      ...(nonce === undefined ? {} : { nonce }),
    });
    list.push('dpop', proof);
  }
  handshake.decorate?.(list);
  return upstreamHandshakeHeaders(list);
}

/** What the browser's handshake answer takes from the upstream's, and the BFF's own headers. */
export interface Completion {
  /** The subprotocol the upstream chose (`''`: none). */
  readonly protocol: string;
  /** Extra answer lines (`X-Request-Id`, `Set-Cookie`), `Name: value`. */
  readonly headers: readonly string[];
}

/**
 * Completes browsers' handshakes (`ws` with `noServer`, no compression, {@link MAX_PAYLOAD_BYTES}):
 * the 101 answer carries the upstream's subprotocol (`ws` has checked the browser offered it) and
 * `completion`'s headers. Returns the open socket, or `undefined` when `ws` refused the handshake
 * (it then answered the browser itself). Synchronous: no `verifyClient` is set.
 */
export function createHandshakeCompleter(): (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  completion: Completion,
) => WebSocket | undefined {
  const completions = new WeakMap<IncomingMessage, Completion>();
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    handleProtocols: (_offered, req) => completions.get(req)?.protocol || false,
  });
  server.on('headers', (headers, req) => {
    const completion = completions.get(req);
    if (completion) headers.push(...completion.headers);
  });
  return (req, socket, head, completion) => {
    completions.set(req, completion);
    let browser: WebSocket | undefined;
    try {
      server.handleUpgrade(req, socket, head, (ws) => {
        browser = ws;
      });
    } finally {
      completions.delete(req);
    }
    return browser;
  };
}
