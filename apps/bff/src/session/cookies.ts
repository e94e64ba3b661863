/**
 * Cookie names, attributes and chunking, as plain data. Routes turn {@link CookieToSet} into
 * `Set-Cookie` headers with {@link serializeCookie}; nothing here touches HTTP objects.
 *
 * @see RFC 6265bis §4.1.3 (cookie name prefixes) and §5.6 (4096-byte limit per cookie)
 */

export type SameSite = 'Lax' | 'None' | 'Strict';

export interface CookieToSet {
  readonly name: string;
  /** Empty with `maxAgeS: 0` to delete. */
  readonly value: string;
  readonly maxAgeS: number;
  readonly sameSite: SameSite;
  readonly secure: boolean;
}

/** Names of the BFF's cookies for one public origin. */
export interface CookieNames {
  readonly session: string;
  /** Transaction cookies are `${txnPrefix}${transactionId}`: one per login in flight. */
  readonly txnPrefix: string;
  readonly secure: boolean;
}

const SESSION_BASE = 'bff_session';
const TXN_BASE = 'bff_txn.';
/** Chunk size for a cookie's value: leaves room for the name and attributes under 4096 bytes. */
export const COOKIE_CHUNK_CHARS = 3_800;
/** A sealed session larger than this many chunks is refused rather than sent. */
export const MAX_SESSION_CHUNKS = 5;

/**
 * `__Host-` prefixed names whenever the public origin is https: the browser then guarantees
 * `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow them.
 */
export function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}${SESSION_BASE}`, txnPrefix: `${prefix}${TXN_BASE}`, secure };
}

/** Base names, used as HKDF salts so each kind of cookie has its own key. */
export const COOKIE_PURPOSE = { session: SESSION_BASE, transaction: 'bff_txn' } as const;

/**
 * Reads a possibly chunked cookie: `name` alone, or `name.0`, `name.1`, ... concatenated.
 */
export function readChunkedCookie(
  cookies: Readonly<Record<string, string>>,
  name: string,
): string | undefined {
  const whole = cookies[name];
  if (whole !== undefined) return whole;
  let value = '';
  for (let i = 0; i < MAX_SESSION_CHUNKS; i++) {
    const chunk = cookies[`${name}.${i}`];
    if (chunk === undefined) break;
    value += chunk;
  }
  return value === '' ? undefined : value;
}

/** Names of every cookie that holds (part of) the chunked cookie `name`. */
export function chunkNamesPresent(cookies: Readonly<Record<string, string>>, name: string): string[] {
  return Object.keys(cookies).filter(
    (n) => n === name || (n.startsWith(`${name}.`) && /^\d+$/.test(n.slice(name.length + 1))),
  );
}

/**
 * The cookies that store `value` under `name`, split into chunks when it does not fit one
 * cookie, plus deletions for chunks of an earlier, longer value that would otherwise linger.
 *
 * @throws {RangeError} when the value needs more than {@link MAX_SESSION_CHUNKS} cookies.
 */
export function writeChunkedCookie(
  name: string,
  value: string,
  attributes: Omit<CookieToSet, 'name' | 'value'>,
  present: readonly string[],
): CookieToSet[] {
  const out: CookieToSet[] = [];
  const written = new Set<string>();
  if (value.length <= COOKIE_CHUNK_CHARS) {
    out.push({ name, value, ...attributes });
    written.add(name);
  } else {
    const count = Math.ceil(value.length / COOKIE_CHUNK_CHARS);
    if (count > MAX_SESSION_CHUNKS) throw new RangeError(`cookie ${name} would need ${count} chunks`);
    for (let i = 0; i < count; i++) {
      const chunkName = `${name}.${i}`;
      out.push({
        name: chunkName,
        value: value.slice(i * COOKIE_CHUNK_CHARS, (i + 1) * COOKIE_CHUNK_CHARS),
        ...attributes,
      });
      written.add(chunkName);
    }
  }
  for (const stale of present) {
    if (!written.has(stale)) out.push(deletion(stale, attributes));
  }
  return out;
}

/** A cookie that makes the browser forget `name` now. */
export function deletion(name: string, attributes: Pick<CookieToSet, 'sameSite' | 'secure'>): CookieToSet {
  return { name, value: '', maxAgeS: 0, sameSite: attributes.sameSite, secure: attributes.secure };
}

/**
 * One `Set-Cookie` header value. Always `HttpOnly` and `Path=/`, never `Domain` (host-only).
 */
export function serializeCookie(cookie: CookieToSet): string {
  let header = `${cookie.name}=${cookie.value}; Path=/; HttpOnly; SameSite=${cookie.sameSite}; Max-Age=${cookie.maxAgeS}`;
  if (cookie.maxAgeS === 0) header += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (cookie.secure) header += '; Secure';
  return header;
}
