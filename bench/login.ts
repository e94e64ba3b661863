/**
 * A full sign-in as a browser would do it, against the BFF, the express alternative or Apache
 * with mod_auth_openidc: the
 * app's login route, the dev IdP's login form (a fresh IdP session every time, so the password
 * form is always shown), then the callback to the app with its transaction cookie.
 */
import http from 'node:http';
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';

export const BENCH_USER = { username: 'alice@example.com', password: 'alice-dev-password' } as const;

export interface AppLogin {
  /** `http://localhost:<port>`: the origin the IdP redirects back to. */
  readonly origin: string;
  /** `/auth/login` (BFF), `/login` (express-openid-connect) or any protected page (Apache). */
  readonly loginPath: string;
  /** Cookie that must exist afterwards: `bff_session`, `appSession` or `mod_auth_openidc_session`. */
  readonly sessionCookie: string;
}

/**
 * What a browser sends on a top-level navigation. mod_auth_openidc answers 401 instead of
 * redirecting to the IdP when a request looks like a script's, and `fetch` always sends
 * `Sec-Fetch-Mode: cors`: so the app's own pages are requested with `node:http`.
 */
const NAVIGATION_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
} as const;

/** One top-level GET to the app, cookies from and into `jar`, redirects not followed. */
function navigate(url: string, jar: CookieJar): Promise<Response> {
  const cookie = jar.header(url);
  return new Promise((resolve, reject) => {
    const request = http.get(
      url,
      { headers: { ...NAVIGATION_HEADERS, ...(cookie ? { cookie } : {}) } },
      (res) => {
        res.resume();
        res.once('error', reject);
        res.once('end', () => {
          const headers = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
          }
          const response = new Response(null, { status: res.statusCode ?? 0, headers });
          jar.store(url, response);
          resolve(response);
        });
      },
    );
    request.once('error', reject);
  });
}

/** Signs in once and returns the `Cookie` header the browser would then send to `/api/*`. */
export async function signIn({ origin, loginPath, sessionCookie }: AppLogin): Promise<string> {
  const jar = new CookieJar();
  const login = await navigate(`${origin}${loginPath}`, jar);
  const authorizeUrl = login.headers.get('location');
  if (login.status !== 302 || !authorizeUrl)
    throw new Error(`${origin}${loginPath} answered ${login.status}`);
  const callback = await driveIdpLogin({ authorizeUrl, ...BENCH_USER });
  if (callback.method !== 'GET') throw new Error('bench expects response_mode=query');
  const done = await navigate(callback.url, jar);
  // The node apps split a large session into `name.0`, `name.1`, … cookies, mod_auth_openidc into
  // `name_0`, `name_1`, … and `name_chunks`.
  const hasSession = jar
    .names()
    .some(
      (name) =>
        name === sessionCookie ||
        name.startsWith(`${sessionCookie}.`) ||
        name.startsWith(`${sessionCookie}_`),
    );
  if (done.status !== 302 || !hasSession) {
    throw new Error(`callback at ${origin} answered ${done.status} without a ${sessionCookie} cookie`);
  }
  return jar.header(`${origin}/api/items`);
}

/** `count` full sign-ins through `login`, `concurrency` users signing in at once (a login storm). */
export async function signInConcurrently(login: AppLogin, count: number, concurrency: number): Promise<void> {
  let started = 0;
  const user = async () => {
    while (started < count) {
      started++;
      await signIn(login);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, user));
}
