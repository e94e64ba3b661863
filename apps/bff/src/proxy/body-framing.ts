import type { IncomingHttpHeaders } from 'node:http';

/**
 * How a client request's body is framed, and so how the upstream copy must be framed: the rule
 * that keeps one client request from becoming two upstream requests on a pooled connection.
 *
 * The proxy never forwards the client's framing fields (`Content-Length`, `Transfer-Encoding`)
 * as they are: it reads them here, once, and writes its own from the result. Node's client adds
 * no framing of its own to a GET, HEAD, DELETE or OPTIONS request, so a body streamed into one
 * without a framing field would reach the upstream as bytes after the request: the start of the
 * next request on that keep-alive connection, sent with another user's `Authorization`.
 *
 * Chunked bodies are forwarded chunked (not refused): `fetch()` with a stream body sends one,
 * and the route streams it without buffering. Trailer fields are not forwarded (RFC 9110 §6.5.1
 * lets a recipient discard them).
 *
 * @see RFC 9112 §6 (message body), §6.1 (Transfer-Encoding), §6.3 (message body length)
 * @see RFC 9110 §6.5 (trailer fields)
 */
export type BodyFraming =
  /** No body: the upstream request carries none, and no framing field. */
  | { readonly kind: 'none' }
  /** `Content-Length` bytes: forwarded with that length. */
  | { readonly kind: 'length'; readonly length: number }
  /** `Transfer-Encoding: chunked`: forwarded chunked. */
  | { readonly kind: 'chunked' };

export type FramingResult =
  | { readonly ok: true; readonly framing: BodyFraming }
  | { readonly ok: false; readonly reason: string };

const NO_BODY: FramingResult = { ok: true, framing: { kind: 'none' } };
const CHUNKED: FramingResult = { ok: true, framing: { kind: 'chunked' } };
/** RFC 9110 §8.6: `Content-Length = 1*DIGIT`. */
const DECIMAL = /^[0-9]+$/;

/**
 * The framing of a request whose header section Node's parser has accepted (it already refuses
 * malformed lengths and most conflicts; this restates the rule so that nothing here depends on
 * a parser leniency flag).
 */
export function requestBodyFraming(headers: IncomingHttpHeaders): FramingResult {
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    // §6.3 ¶3: both at once may be a smuggling attempt; a server may refuse it, and we do.
    if (cl !== undefined) return { ok: false, reason: 'both Content-Length and Transfer-Encoding' };
    // §6.1: chunked is the only coding the proxy forwards; §6.3 ¶4: a request whose final coding
    // is not chunked has no determinable length.
    if (te.trim().toLowerCase() !== 'chunked')
      return { ok: false, reason: 'a transfer coding other than chunked' };
    return CHUNKED;
  }
  if (cl === undefined) return NO_BODY;
  if (!DECIMAL.test(cl)) return { ok: false, reason: 'a malformed Content-Length' };
  const length = Number(cl);
  if (!Number.isSafeInteger(length)) return { ok: false, reason: 'a malformed Content-Length' };
  return { ok: true, framing: { kind: 'length', length } };
}

/**
 * Methods whose requests are expected to carry content: without a framing field Node's client
 * would send them chunked, so a request of theirs without a body says `Content-Length: 0`, as
 * RFC 9110 §8.6 asks of a user agent. Other methods get no field at all (§8.6: a user agent
 * SHOULD NOT send one when the method anticipates no content).
 */
const CONTENT_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The framing field for the upstream request, pushed onto its header list: every request the
 * proxy sends is framed by the proxy, never by the client's fields nor by Node's defaults.
 */
export function pushFramingField(headers: string[], framing: BodyFraming, method: string): void {
  if (framing.kind === 'length') headers.push('content-length', String(framing.length));
  else if (framing.kind === 'chunked') headers.push('transfer-encoding', 'chunked');
  else if (CONTENT_METHODS.has(method)) headers.push('content-length', '0');
}
