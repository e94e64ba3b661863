import { CSRF_HEADER, CSRF_HEADER_VALUE } from '@okta-bff/oidc';

/**
 * The one anti-forgery rule of both request paths, for every state-changing or token-using call
 * (`/api/*`, `POST /auth/logout`), as a pure function of three request headers.
 *
 * 1. `X-CSRF: 1` must be present. A custom header cannot be sent cross-origin without a CORS
 *    preflight, which this BFF never grants (Duende BFF's anti-forgery header).
 * 2. `Origin`, when the browser sends it, must be the app's public origin exactly (RFC 6454 §7;
 *    Fetch sends it on every non-GET request and on CORS requests).
 * 3. `Sec-Fetch-Site`, when present, must be `same-origin`: a sibling subdomain is `same-site`
 *    and can plant cookies, so it is refused too (Fetch Metadata, W3C).
 *
 * Clients that send neither `Origin` nor `Sec-Fetch-Site` (older browsers, curl) still need the
 * custom header, which is what stops a cross-site form or image from reaching us.
 *
 * @see https://www.w3.org/TR/fetch-metadata/ ; https://web.dev/articles/fetch-metadata
 * @see https://docs.duendesoftware.com/bff/fundamentals/session/handlers/ (anti-forgery header)
 */
export interface OriginHeaders {
  readonly csrf: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
}

export type OriginVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const ALLOWED: OriginVerdict = { ok: true };

export function checkRequestOrigin(headers: OriginHeaders, publicOrigin: string): OriginVerdict {
  if (headers.csrf !== CSRF_HEADER_VALUE) return { ok: false, reason: `no ${CSRF_HEADER} header` };
  if (headers.origin !== undefined && headers.origin !== publicOrigin) {
    return { ok: false, reason: 'Origin is not the app origin' };
  }
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== 'same-origin') {
    return { ok: false, reason: `Sec-Fetch-Site is ${headers.secFetchSite.slice(0, 20)}` };
  }
  return ALLOWED;
}

/** The message of the 403 `csrf_required` answer. */
export const CSRF_MESSAGE = `This call needs the ${CSRF_HEADER}: ${CSRF_HEADER_VALUE} header, sent by the app from its own origin.`;

/**
 * The anti-forgery rule of a WebSocket handshake. A browser cannot add `X-CSRF` to one, and the
 * cookie goes with it whatever page opened it, so the `Origin` it always sends (RFC 6455 §4.1) must
 * be the app's own: anything else, or none, is cross-site WebSocket hijacking or not a browser we
 * serve. `Sec-Fetch-Site`, when present, must be `same-origin` as for every other call.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6455.html#section-10.2
 */
export function checkWebSocketOrigin(headers: OriginHeaders, publicOrigin: string): OriginVerdict {
  if (headers.origin === undefined) return { ok: false, reason: 'no Origin on a WebSocket handshake' };
  if (headers.origin !== publicOrigin) return { ok: false, reason: 'Origin is not the app origin' };
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== 'same-origin') {
    return { ok: false, reason: `Sec-Fetch-Site is ${headers.secFetchSite.slice(0, 20)}` };
  }
  return ALLOWED;
}

/** The message of the 403 answer to a WebSocket handshake from another origin. */
export const WEBSOCKET_ORIGIN_MESSAGE =
  'A WebSocket to the API must be opened by the app, from its own origin.';
