import { readChunkedCookie } from './cookies.ts';
import type { Session, SessionCodec } from './session.ts';

/**
 * Opened sessions kept in memory, keyed by the sealed cookie itself (a few KB each, so this
 * bounds the cache to a few MB). A string key costs V8 one pass over the cookie; a SHA-256 key
 * cost ten times that on every `/api` call.
 */
const DEFAULT_CACHE_ENTRIES = 1_000;

export type SessionReader = (cookies: Readonly<Record<string, string>>) => Promise<Session | undefined>;

/**
 * Opens the session cookie, remembering recent results so the hot `/api` path does not decrypt
 * the same cookie on every call. Only a byte-identical cookie hits; an expired session is never
 * returned from the cache.
 */
export function createSessionReader(
  codec: SessionCodec,
  cookieName: string,
  { maxEntries = DEFAULT_CACHE_ENTRIES, now = () => Date.now() / 1000 } = {},
): SessionReader {
  const cache = new Map<string, Session>();
  return async function readSession(cookies) {
    const sealed = readChunkedCookie(cookies, cookieName);
    if (!sealed) return undefined;
    const key = sealed;
    let session = cache.get(key);
    if (!session) {
      session = await codec.unsealSession(sealed);
      if (!session) return undefined;
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(key, session);
    }
    if (session.expiresAt <= now()) {
      cache.delete(key);
      return undefined;
    }
    return session;
  };
}

/** Parses a `Cookie` request header into name → value (first occurrence wins, as browsers order by specificity). */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in out)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}
