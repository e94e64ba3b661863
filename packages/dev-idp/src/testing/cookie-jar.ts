/**
 * A minimal cookie jar for fetch-based test clients (Node's fetch keeps no cookies). It follows
 * RFC 6265's storage model where a test can tell: host-only vs `Domain` cookies, `Path`
 * matching, `Max-Age`/`Expires` (including deletion), and `Secure`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-5.3
 */

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case host (host-only) or domain (with subdomains). */
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  /** Epoch ms, or `undefined` for a session cookie. */
  readonly expiresAt: number | undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 6265 §5.1.4: the directory of the request path is the default cookie path. */
function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 §5.1.3 domain-match. */
function domainMatches(host: string, cookie: StoredCookie): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

/** Parses one `Set-Cookie` value; `undefined` when it must be ignored. */
function parseSetCookie(header: string, url: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const host = url.hostname.toLowerCase();
  let domain = host;
  let hostOnly = true;
  let path = defaultPath(url);
  let secure = false;
  let maxAge: number | undefined;
  let expires: number | undefined;

  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
    else if (key === 'expires' && !Number.isNaN(Date.parse(value))) expires = Date.parse(value);
    else if (key === 'path' && value.startsWith('/')) path = value;
    else if (key === 'secure') secure = true;
    else if (key === 'domain' && value) {
      const wanted = value.replace(/^\./, '').toLowerCase();
      // A server may not set cookies for a domain it is not part of (§5.3 step 6).
      if (host !== wanted && !host.endsWith(`.${wanted}`)) return undefined;
      domain = wanted;
      hostOnly = false;
    }
  }

  // Max-Age wins over Expires (§5.3 step 3); both in the past mean "delete".
  const expiresAt = maxAge !== undefined ? now + maxAge * 1000 : expires;
  return {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    domain,
    hostOnly,
    path,
    secure,
    expiresAt,
  };
}

/**
 * Stores cookies from responses and produces `Cookie` headers for requests.
 *
 * `Secure` cookies are sent over https and to loopback hosts, as browsers treat
 * `http://localhost` as a secure context.
 *
 * @example
 * const jar = new CookieJar();
 * const res = await fetch(url, { headers: { cookie: jar.header(url) }, redirect: 'manual' });
 * jar.store(url, res);
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  /** Stores (or deletes) every cookie of `response`'s `Set-Cookie` headers, set by `url`. */
  store(url: string | URL, response: Response): void {
    const base = new URL(url);
    const now = Date.now();
    for (const header of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(header, base, now);
      if (!cookie) continue;
      const key = `${cookie.domain};${cookie.path};${cookie.name}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  /** The `Cookie` header value for a request to `url`; `''` when no cookie applies. */
  header(url: string | URL): string {
    const target = new URL(url);
    const host = target.hostname.toLowerCase();
    const secureContext = target.protocol === 'https:' || LOOPBACK_HOSTS.has(host);
    const now = Date.now();
    return (
      [...this.#live(now)]
        .filter((cookie) => domainMatches(host, cookie) && pathMatches(target.pathname, cookie.path))
        .filter((cookie) => !cookie.secure || secureContext)
        // §5.4: longer paths first, so the most specific cookie wins for servers reading the first.
        .sort((a, b) => b.path.length - a.path.length)
        .map((cookie) => `${cookie.name}=${cookie.value}`)
        .join('; ')
    );
  }

  /** The value of the live cookie called `name` (any host/path), or `undefined`. */
  get(name: string): string | undefined {
    for (const cookie of this.#live(Date.now())) if (cookie.name === name) return cookie.value;
    return undefined;
  }

  /** Names of all live cookies, for assertions and debugging (values stay private). */
  names(): string[] {
    return [...this.#live(Date.now())].map((cookie) => cookie.name);
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies.clear();
  }

  *#live(now: number): Generator<StoredCookie> {
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) this.#cookies.delete(key);
      else yield cookie;
    }
  }
}
