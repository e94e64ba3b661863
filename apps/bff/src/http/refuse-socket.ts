import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@okta-bff/oidc';
import { errorResponse } from './error-response.ts';

/** A refused connection that neither reads our answer nor closes is dropped after this long. */
const LINGER_MS = 5_000;

/**
 * An error answer written straight to a socket that never became a request (an upgrade, CONNECT):
 * the JSON error of `code`, `Connection: close`, and `extra` headers (`Set-Cookie`, `Retry-After`,
 * `X-Request-Id`; values are the BFF's own, never a client's).
 *
 * Whatever the client sent after its request head is read and dropped, never kept, and the socket
 * is destroyed once the answer is out and the client is done, or after {@link LINGER_MS} at most:
 * a client that never closes its side cannot hold the connection (Node's HTTP server lets
 * connections stay half open).
 */
export function refuseSocket(
  socket: Duplex,
  code: ErrorCode,
  message: string,
  extra: Readonly<Record<string, string | readonly string[]>> = {},
): void {
  if (socket.destroyed) return;
  const e = errorResponse(code, message);
  const lines: string[] = [];
  for (const [name, value] of Object.entries({ ...e.headers, ...extra, connection: 'close' })) {
    for (const one of typeof value === 'string' ? [value] : value) lines.push(`${name}: ${one}`);
  }
  socket.on('error', () => {
    // The client went away first: nothing more to tell it.
  });
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.end(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\n${lines.join('\r\n')}\r\n\r\n${e.body}`);
}
