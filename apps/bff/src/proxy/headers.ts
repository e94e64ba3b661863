import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Header hygiene for the `/api` proxy, as plain functions over Node's header objects.
 *
 * @see RFC 9110 §7.6.1 (Connection and hop-by-hop fields); RFC 7239 (Forwarded)
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Request headers the upstream must never see from the browser: credentials and spoofable origin data. */
const REQUEST_DROP = new Set([
  'host',
  'cookie',
  'authorization',
  'x-csrf',
  'forwarded',
  'x-real-ip',
  'x-request-id',
]);

/** Response headers the browser must never get from the upstream. */
const RESPONSE_DROP = new Set(['set-cookie', 'set-cookie2']);

function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  if (!value) return new Set();
  return new Set(value.split(',').map((v) => v.trim().toLowerCase()));
}

export interface ForwardedFor {
  readonly clientAddress: string | undefined;
  readonly proto: string;
  readonly host: string;
  readonly requestId: string;
}

/**
 * The headers to send upstream: the client's, minus hop-by-hop ones (and those its `Connection`
 * names), cookies, `X-CSRF`, any client `Authorization`, `Forwarded` and `X-Forwarded-*`; plus
 * our own bearer, `X-Forwarded-For/Proto/Host` and the request id.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  accessToken: string,
  forwarded: ForwardedFor,
): OutgoingHttpHeaders {
  const listed = connectionListed(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || REQUEST_DROP.has(name) || listed.has(name) || name.startsWith('x-forwarded-'))
      continue;
    out[name] = incoming[name];
  }
  out.authorization = `Bearer ${accessToken}`;
  if (forwarded.clientAddress) out['x-forwarded-for'] = forwarded.clientAddress;
  out['x-forwarded-proto'] = forwarded.proto;
  out['x-forwarded-host'] = forwarded.host;
  out['x-request-id'] = forwarded.requestId;
  return out;
}

/**
 * The upstream's response headers to pass to the browser: minus hop-by-hop ones, `Set-Cookie`
 * (the upstream must not plant cookies on our origin) and CORS headers (this origin grants none).
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(upstream);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (
      HOP_BY_HOP.has(name) ||
      RESPONSE_DROP.has(name) ||
      listed.has(name) ||
      name.startsWith('access-control-')
    )
      continue;
    out[name] = upstream[name];
  }
  return out;
}
