import { parse, serialize } from 'hono/utils/cookie';

/**
 * The one cookie parser and serialiser of both request paths (the Hono routes and the raw
 * `node:http` `/api` handler): Hono's own cookie utilities, which are plain functions over header
 * strings and so serve `node:http` as well.
 *
 * @see RFC 6265bis §4.1 (Set-Cookie syntax), §5.6.3 (cookie header parsing)
 */

export type SameSite = 'Lax' | 'None' | 'Strict';

/** A cookie to set (or, with `maxAgeS: 0` and an empty value, to delete), as plain data. */
export interface CookieToSet {
  readonly name: string;
  readonly value: string;
  readonly maxAgeS: number;
  readonly sameSite: SameSite;
  readonly secure: boolean;
}

/** Name → value of a `Cookie` request header. The first occurrence of a name wins, as browsers send the most specific first. */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  return header ? parse(header) : {};
}

/**
 * One `Set-Cookie` header value: always `HttpOnly`, `Path=/` and host-only (no `Domain`).
 * A deletion also carries a past `Expires` for clients that ignore `Max-Age=0`.
 */
export function serializeCookie(cookie: CookieToSet): string {
  return serialize(cookie.name, cookie.value, {
    path: '/',
    httpOnly: true,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    maxAge: cookie.maxAgeS,
    ...(cookie.maxAgeS === 0 ? { expires: new Date(0) } : {}),
  });
}
