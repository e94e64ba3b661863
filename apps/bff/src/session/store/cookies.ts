import type { CookieToSet } from '../../http/cookie-header.ts';

/**
 * Cookie names and the splitting of a long value over several cookies, as plain data.
 *
 * @see RFC 6265bis §4.1.3 (cookie name prefixes), §5.6 (user agents store at least 4096 bytes per
 *   cookie, name and attributes included); common proxies accept request headers up to 8 KB.
 */

/** Names of the BFF's cookies for one public origin. */
export interface CookieNames {
  readonly session: string;
  /** Transaction cookies are `${txnPrefix}${id}`: one per login in flight. */
  readonly txnPrefix: string;
  readonly secure: boolean;
}

const SESSION_BASE = 'bff_session';
const TXN_BASE = 'bff_txn.';

/** One cookie's value at most: leaves room for the name and attributes under 4096 bytes. */
export const COOKIE_CHUNK_CHARS = 3_800;
/**
 * All session chunks together at most: with their names (`bff_session.0=`…) this keeps the
 * session's share of the `Cookie` header near 7 KB, leaving room under 8 KB for a login in flight
 * and the other cookies of the origin.
 */
export const SESSION_COOKIE_BUDGET_CHARS = 6_900;
/** Chunk names read back: enough for the budget, and a bound on what a crafted header can make us join. */
const MAX_CHUNKS = Math.ceil(SESSION_COOKIE_BUDGET_CHARS / COOKIE_CHUNK_CHARS);

/**
 * `__Host-` prefixed names whenever the public origin is https: the browser then guarantees
 * `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow them.
 */
export function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}${SESSION_BASE}`, txnPrefix: `${prefix}${TXN_BASE}`, secure };
}

/** Base names, used as HKDF salts so each kind of sealed value (cookie or Redis record) has its own key. */
export const COOKIE_PURPOSE = {
  session: SESSION_BASE,
  transaction: 'bff_txn',
  redisRecord: 'bff_session_redis',
} as const;

/** Reads a possibly chunked cookie: `name` alone, or `name.0`, `name.1`, ... concatenated. */
export function readChunkedCookie(
  cookies: Readonly<Record<string, string>>,
  name: string,
): string | undefined {
  const whole = cookies[name];
  if (whole !== undefined) return whole;
  let value = '';
  for (let i = 0; i < MAX_CHUNKS; i++) {
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

/** Thrown when a value does not fit {@link SESSION_COOKIE_BUDGET_CHARS}: the caller ends the login or session. */
export class CookieBudgetError extends RangeError {
  constructor(readonly chars: number) {
    super(`the sealed session needs ${chars} characters; cookies hold ${SESSION_COOKIE_BUDGET_CHARS}`);
    this.name = 'CookieBudgetError';
  }
}

/**
 * The cookies that store `value` under `name`, split into chunks when it does not fit one
 * cookie, plus deletions for chunks of an earlier value that would otherwise linger.
 *
 * @throws {CookieBudgetError} when the value exceeds {@link SESSION_COOKIE_BUDGET_CHARS}.
 */
export function writeChunkedCookie(
  name: string,
  value: string,
  attributes: Omit<CookieToSet, 'name' | 'value'>,
  present: readonly string[],
): CookieToSet[] {
  if (value.length > SESSION_COOKIE_BUDGET_CHARS) throw new CookieBudgetError(value.length);
  const out: CookieToSet[] = [];
  const written = new Set<string>();
  if (value.length <= COOKIE_CHUNK_CHARS) {
    out.push({ name, value, ...attributes });
    written.add(name);
  } else {
    const count = Math.ceil(value.length / COOKIE_CHUNK_CHARS);
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
