/**
 * The `htu` a DPoP proof must carry: the URL the client sent the request to, without query and
 * fragment, compared after normalisation. Pure functions, one rule each.
 *
 * Which URL is "the" URL is the one decision here. The proof is signed by the client (the BFF)
 * for the URL it called; the API only sees the request line and a `Host` header, and between the
 * two there may be a TLS terminator (the scheme changes), a port mapping (the port changes) or a
 * path-prefix gateway (the path changes). So:
 *
 * - with a configured public base URL (`API_PUBLIC_URL`), the expected `htu` is that base plus
 *   the path this app received; `Host` is ignored. This is the setting for any deployment.
 * - without one, it is the request's own URL as the server saw it: scheme from the connection,
 *   authority from `Host`. Right when the BFF calls the API directly (`pnpm dev`, tests: the BFF
 *   calls `http://127.0.0.1:8001/items` and sends `Host: 127.0.0.1:8001`).
 *
 * `X-Forwarded-*` headers are never read: any client can send them.
 *
 * > [!WARNING]
 * > Without `API_PUBLIC_URL` the host part of `htu` is only compared with a header the client
 * > chose, so it no longer keeps a proof made for another server with the same key from being
 * > accepted here (RFC 9449 §4.3's reason for `htu`). The token's `aud` and the proof's `ath`
 * > still tie the proof to a token for this API; method and path are still checked.
 *
 * @see RFC 9449 §4.2 (`htu`), §4.3 check 9 (comparison), RFC 3986 §6.2.2 and §6.2.3 (normalisation)
 */

/** RFC 3986 §2.3 unreserved characters: their percent-encoded forms mean the same and are decoded. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Percent-encoding normalisation (RFC 3986 §6.2.2.1–2): hex digits upper-case, unreserved
 * characters decoded, so `/%7euser` and `/~user` compare equal.
 */
function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * Normalises an `htu` (or a request URL) for comparison: an absolute `http`/`https` URL, query
 * and fragment dropped. The WHATWG URL parser already lower-cases scheme and host, drops a
 * default port, resolves `.`/`..` segments and turns an empty path into `/` (RFC 3986 §6.2.2.1,
 * §6.2.2.3, §6.2.3); percent-encoding is normalised here.
 *
 * @returns the normalised URL, or `undefined` for anything that cannot be a request URL
 *   (not absolute, another scheme, user information).
 */
export function normalizeHtu(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}

/**
 * The normalised `htu` expected for a request: `publicUrl` (scheme, authority and any path
 * prefix the gateway strips) plus the path this app received, or, without `publicUrl`, the
 * request URL itself.
 *
 * @param requestUrl the URL as the server built it (`c.req.url`: scheme of the connection,
 *   authority from `Host`).
 * @param publicUrl the API's base URL as its clients call it, without query or fragment.
 */
export function expectedHtu(requestUrl: string, publicUrl?: URL): string | undefined {
  const request = new URL(requestUrl);
  if (publicUrl === undefined) return normalizeHtu(request.href);
  const base = `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, '')}`;
  return normalizeHtu(`${base}${request.pathname}`);
}
