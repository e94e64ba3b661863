/**
 * A full sign-in as a browser would do it, against the BFF or the express alternative: the
 * app's login route, the dev IdP's login form (a fresh IdP session every time, so the password
 * form is always shown), then the callback to the app with its transaction cookie.
 */
import { CookieJar, driveIdpLogin } from '@okta-bff/dev-idp/testing';

export const BENCH_USER = { username: 'alice@example.com', password: 'alice-dev-password' } as const;

export interface AppLogin {
  /** `http://localhost:<port>`: the origin the IdP redirects back to. */
  readonly origin: string;
  /** `/auth/login` (BFF) or `/login` (express-openid-connect). */
  readonly loginPath: string;
  /** Cookie that must exist afterwards: `bff_session` or `appSession`. */
  readonly sessionCookie: string;
}

async function fetchWithJar(url: string, jar: CookieJar): Promise<Response> {
  const cookie = jar.header(url);
  const response = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  jar.store(url, response);
  await response.arrayBuffer();
  return response;
}

/** Signs in once and returns the `Cookie` header the browser would then send to `/api/*`. */
export async function signIn({ origin, loginPath, sessionCookie }: AppLogin): Promise<string> {
  const jar = new CookieJar();
  const login = await fetchWithJar(`${origin}${loginPath}`, jar);
  const authorizeUrl = login.headers.get('location');
  if (login.status !== 302 || !authorizeUrl)
    throw new Error(`${origin}${loginPath} answered ${login.status}`);
  const callback = await driveIdpLogin({ authorizeUrl, ...BENCH_USER });
  if (callback.method !== 'GET') throw new Error('bench expects response_mode=query');
  const done = await fetchWithJar(callback.url, jar);
  // Both apps split a large session into `name.0`, `name.1`, ... cookies.
  const hasSession = jar
    .names()
    .some((name) => name === sessionCookie || name.startsWith(`${sessionCookie}.`));
  if (done.status !== 302 || !hasSession) {
    throw new Error(`callback at ${origin} answered ${done.status} without a ${sessionCookie} cookie`);
  }
  return jar.header(`${origin}/api/items`);
}
