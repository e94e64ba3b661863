/**
 * A browser's cookie jar for fetch-based test clients (Node's fetch keeps no cookies), built on
 * tough-cookie so the storage model is the maintained RFC 6265 one rather than our own reading
 * of it: host-only vs `Domain` cookies (public suffixes refused), `Path` matching, `Max-Age` and
 * `Expires` (including deletion), `Secure`, `SameSite`, and the `__Secure-`/`__Host-` prefixes.
 *
 * Where tough-cookie's defaults differ from what Chromium (the browser of our e2e tests) does,
 * the jar follows Chromium, so Node tests see the cookies a real browser would send:
 * - `Secure` cookies are stored from and sent to `http://localhost` and loopback addresses, which
 *   browsers treat as secure contexts;
 * - a cookie without `SameSite` is treated as `SameSite=Lax`;
 * - `SameSite=None` without `Secure` is refused;
 * - a cookie whose name and value exceed 4096 bytes is refused, and no cookie lives longer than
 *   400 days;
 * - `Max-Age` is turned into a fixed expiry when the cookie is stored: tough-cookie 6 counts it
 *   from the cookie's last use, so a cookie that is sent regularly would never expire.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-5.3
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-5.7
 * @see https://github.com/salesforce/tough-cookie#readme
 */
import { Cookie, MemoryCookieStore, CookieJar as ToughJar } from 'tough-cookie';

/**
 * The relation of a request to the page that caused it, as RFC 6265bis uses it for `SameSite`:
 * - `'strict'`: a same-site request (the BFF's own pages and `/api` calls, a redirect within one
 *   site; `localhost:8000` and `localhost:9000` are the same site): every cookie goes;
 * - `'lax'`: a cross-site top-level navigation with a safe method (a link, a redirect from
 *   another site): `Lax` and `None` cookies go, `Strict` ones stay;
 * - `'none'`: any other cross-site request (a cross-site form POST such as `response_mode=form_post`
 *   from a real Okta org, an iframe, a `fetch`): only `SameSite=None` cookies go.
 *
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-5.2
 */
export type SameSiteContext = 'strict' | 'lax' | 'none';

/** Options of {@link CookieJar.header} and {@link CookieJar.store}. */
export interface CookieRequestOptions {
  /** The request's same-site context; `'strict'` (a same-site request) when omitted. */
  readonly sameSiteContext?: SameSiteContext;
}

/** RFC 6265bis §5.6 (and every browser): a larger name + value pair is ignored whole. */
const MAX_NAME_VALUE_BYTES = 4096;
/** RFC 6265bis §5.6 (`Expires`, `Max-Age`), as Chromium does: no cookie outlives 400 days. */
const MAX_COOKIE_AGE_MS = 400 * 24 * 60 * 60 * 1000;

/**
 * Parses one `Set-Cookie` value into a cookie tough-cookie can store, or `undefined` when a
 * browser would ignore it before domain, path and prefix checks (which tough-cookie does).
 */
function parseSetCookie(header: string, now: Date): Cookie | undefined {
  const cookie = Cookie.parse(header, { loose: false });
  if (!cookie) return undefined;
  const size = Buffer.byteLength(cookie.key) + Buffer.byteLength(cookie.value);
  if (size > MAX_NAME_VALUE_BYTES) return undefined;

  // Chromium's "Lax by default" (without its two-minute grace for top-level POSTs, so the jar is
  // the stricter one); unrecognised values count as unspecified.
  // @see https://datatracker.ietf.org/doc/html/draft-west-cookie-incrementalism#section-3.1
  if (cookie.sameSite === undefined) cookie.sameSite = 'lax';
  // @see https://datatracker.ietf.org/doc/html/draft-west-cookie-incrementalism#section-3.2
  if (cookie.sameSite === 'none' && !cookie.secure) return undefined;

  // Max-Age wins over Expires (RFC 6265 §5.3 step 3) and counts from now (§5.2.2); zero or less
  // means "expired", which deletes a stored cookie of the same name, domain and path.
  const latest = now.getTime() + MAX_COOKIE_AGE_MS;
  if (typeof cookie.maxAge === 'number') {
    cookie.expires = new Date(
      cookie.maxAge <= 0 ? 0 : Math.min(now.getTime() + cookie.maxAge * 1000, latest),
    );
    cookie.maxAge = null;
  } else if (cookie.expires instanceof Date && cookie.expires.getTime() > latest) {
    cookie.expires = new Date(latest);
  }
  return cookie;
}

/** Whether `cookie` has not expired by `now` (session cookies never do here). */
function isLive(cookie: Cookie, now: number): boolean {
  const expiry = cookie.expiryTime();
  return expiry === undefined || expiry > now;
}

/**
 * Stores cookies from responses and produces `Cookie` headers for requests, as a browser does.
 * Cookies a browser would refuse are dropped silently, as a browser drops them; assert on
 * {@link CookieJar.names} to check that a cookie was (not) stored.
 *
 * @example
 * const jar = new CookieJar();
 * const res = await fetch(url, { headers: { cookie: jar.header(url) }, redirect: 'manual' });
 * jar.store(url, res);
 * // A real Okta org's form_post is a cross-site POST: only SameSite=None cookies go with it.
 * jar.header(callbackUrl, { sameSiteContext: 'none' });
 */
export class CookieJar {
  readonly #store = new MemoryCookieStore();
  readonly #jar = new ToughJar(this.#store, {
    rejectPublicSuffixes: true,
    looseMode: false,
    // Refuse `__Secure-`/`__Host-` cookies that break their prefix's rules, as browsers do.
    prefixSecurity: 'strict',
    // Browsers treat http://localhost and loopback addresses as secure contexts.
    allowSecureOnLocal: true,
    // …and refuse `Secure` cookies set over plain http from anywhere else.
    enforceSecureOriginOnStorage: true,
  });

  /**
   * Stores (or deletes) every cookie of `response`'s `Set-Cookie` headers, set by `url`.
   * `sameSiteContext` is that of the request `response` answers: a browser stores `Lax` and
   * `Strict` cookies from same-site requests and top-level navigations, not from other
   * cross-site requests (`'none'`).
   */
  store(
    url: string | URL,
    response: Response,
    { sameSiteContext = 'strict' }: CookieRequestOptions = {},
  ): void {
    const from = new URL(url).href;
    const now = new Date();
    for (const header of response.headers.getSetCookie()) {
      const cookie = parseSetCookie(header, now);
      // A browser ignores a cookie it cannot store; the other cookies of the response still count.
      if (cookie) this.#jar.setCookieSync(cookie, from, { ignoreError: true, sameSiteContext, now });
    }
  }

  /** The `Cookie` header value for a request to `url`; `''` when no cookie applies. */
  header(url: string | URL, { sameSiteContext = 'strict' }: CookieRequestOptions = {}): string {
    // Sorted as RFC 6265 §5.4 says: longer paths first, then older cookies first.
    return this.#jar.getCookieStringSync(new URL(url).href, { sameSiteContext });
  }

  /** The value of the live cookie called `name` (any host/path), or `undefined`. */
  get(name: string): string | undefined {
    return this.#live().find((cookie) => cookie.key === name)?.value;
  }

  /** Names of all live cookies, oldest first, for assertions and debugging (values stay private). */
  names(): string[] {
    return this.#live().map((cookie) => cookie.key);
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#jar.removeAllCookiesSync();
  }

  /** Every unexpired cookie, oldest first. */
  #live(): Cookie[] {
    let all: Cookie[] = [];
    // MemoryCookieStore is synchronous (the callback has run when getAllCookies returns) and
    // cannot fail: it only copies its in-memory index.
    this.#store.getAllCookies((_error, cookies) => {
      all = cookies ?? [];
    });
    const now = Date.now();
    return all.filter((cookie) => isLive(cookie, now));
  }
}
