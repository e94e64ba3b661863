/**
 * Plays the browser's part at the dev IdP for Node integration tests: follows its redirects,
 * fills in the login form (and the one-time-code page of a step-up), and hands back the request
 * the browser would send to the client's callback, without sending it.
 */
import { DEV_OTP_CODE } from '../step-up.ts';
import { CookieJar } from './cookie-jar.ts';

export { DEV_OTP_CODE };

/** The callback request a browser would make next: a redirect (query) or a form post. */
export type CallbackRequest =
  | { readonly method: 'GET'; readonly url: string }
  | { readonly method: 'POST'; readonly url: string; readonly body: URLSearchParams };

/** Input of {@link driveIdpLogin}. */
export interface DriveIdpLoginOptions {
  /** The authorization request URL, as the client redirected the browser to it. */
  readonly authorizeUrl: string | URL;
  readonly username: string;
  readonly password: string;
  /**
   * The IdP's cookies (its session). Pass the same jar to later calls to act as the same
   * browser: a second login then needs no form, and after logout the form shows again.
   * A fresh jar is used when omitted.
   */
  readonly jar?: CookieJar;
  /**
   * The one-time code typed when the IdP asks for a second factor (it does when the request's
   * `acr_values` need two factors): {@link DEV_OTP_CODE} by default, the only one it accepts.
   * Pass another to see the page refuse it (`IdpLoginError` with code `otp_rejected`).
   */
  readonly otp?: string;
  /** Told each page the driver fills in, in order: `login` (password) or `otp` (second factor). */
  readonly onPage?: (page: 'login' | 'otp') => void;
}

/** Thrown when the IdP does not lead back to the client (bad credentials, error page, loop). */
export class IdpLoginError extends Error {
  override readonly name = 'IdpLoginError';
  constructor(
    message: string,
    /** `login_rejected`, `otp_rejected`, `idp_error_page`, `unexpected_response` or `too_many_hops`. */
    readonly code:
      | 'login_rejected'
      | 'otp_rejected'
      | 'idp_error_page'
      | 'unexpected_response'
      | 'too_many_hops',
    readonly status?: number,
  ) {
    super(message);
  }
}

const MAX_HOPS = 20;

interface HtmlForm {
  readonly action: string;
  readonly method: string;
  readonly fields: URLSearchParams;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(tag);
  const value = match?.[1] ?? match?.[2];
  return value === undefined ? undefined : decodeEntities(value);
}

/**
 * The first form of a page the IdP rendered. A regex parser is enough because the only pages are
 * the IdP's own login page and oidc-provider's form_post page, both of known shape.
 */
export function parseFirstForm(html: string, pageUrl: string): HtmlForm | undefined {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const openTag = /<form\b[^>]*>/i.exec(form[0])?.[0] ?? '';
  const fields = new URLSearchParams();
  for (const [input] of (form[1] ?? '').matchAll(/<input\b[^>]*>/gi)) {
    const name = attribute(input, 'name');
    if (name) fields.append(name, attribute(input, 'value') ?? '');
  }
  return {
    action: new URL(attribute(openTag, 'action') ?? pageUrl, pageUrl).href,
    method: (attribute(openTag, 'method') ?? 'get').toUpperCase(),
    fields,
  };
}

function pageError(html: string): string {
  const alert = /role="alert"[^>]*>([^<]*)</.exec(html)?.[1];
  const dd = [...html.matchAll(/<dd>([^<]*)<\/dd>/g)].map((match) => decodeEntities(match[1] ?? ''));
  return decodeEntities(alert ?? '') || dd.join(': ') || 'no message';
}

/**
 * Drives the dev IdP from `authorizeUrl` to the client's callback and returns that request.
 * It handles redirects manually, keeps the IdP's cookies in `jar`, submits the login form when
 * shown (not at all when the IdP already has a session) and the one-time-code page when shown
 * (a step-up: `acr_values` needing a second factor), and stops as soon as the next hop leaves
 * the IdP's origin: a `Location` (response_mode=query) or an auto-submitting form
 * (response_mode=form_post).
 *
 * @throws {IdpLoginError} when the credentials or the code are refused or the IdP shows an error page.
 * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html
 */
export async function driveIdpLogin({
  authorizeUrl,
  username,
  password,
  jar = new CookieJar(),
  otp = DEV_OTP_CODE,
  onPage,
}: DriveIdpLoginOptions): Promise<CallbackRequest> {
  const idpOrigin = new URL(authorizeUrl).origin;
  let url = new URL(authorizeUrl).href;
  let body: URLSearchParams | undefined;
  let loginSubmitted = false;
  let otpSubmitted = false;

  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    jar.store(url, response);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      // Read, not cancel: msw 2 (used by the BFF tests) never settles cancel() on a bypassed redirect.
      await response.arrayBuffer();
      const next = new URL(location, url);
      if (next.origin !== idpOrigin) return { method: 'GET', url: next.href };
      url = next.href;
      body = undefined;
      continue;
    }

    const html = await response.text();
    const form = response.ok ? parseFirstForm(html, url) : undefined;
    if (!form) {
      throw new IdpLoginError(
        `dev IdP answered ${response.status} at ${new URL(url).pathname}: ${pageError(html)}`,
        response.ok ? 'unexpected_response' : 'idp_error_page',
        response.status,
      );
    }
    if (new URL(form.action).origin !== idpOrigin) {
      return { method: 'POST', url: form.action, body: form.fields };
    }
    if (form.fields.has('password')) {
      if (loginSubmitted) throw new IdpLoginError(`login refused: ${pageError(html)}`, 'login_rejected', 200);
      loginSubmitted = true;
      form.fields.set('username', username);
      form.fields.set('password', password);
      onPage?.('login');
    } else if (form.fields.has('otp')) {
      if (otpSubmitted)
        throw new IdpLoginError(`one-time code refused: ${pageError(html)}`, 'otp_rejected', 200);
      otpSubmitted = true;
      form.fields.set('otp', otp);
      onPage?.('otp');
    }
    url = form.action;
    body = form.method === 'POST' ? form.fields : undefined;
    if (!body) {
      const next = new URL(url);
      next.search = form.fields.toString();
      url = next.href;
    }
  }
  throw new IdpLoginError(`no callback after ${MAX_HOPS} hops`, 'too_many_hops');
}

/** Where {@link driveIdpLogout} ended up. */
export interface IdpLogoutResult {
  /** Where the IdP sends the browser back: the `post_logout_redirect_uri` with `state`. */
  readonly url: string;
  /** The iframes of the IdP's front-channel logout page, in order (none when it showed none). */
  readonly frontchannelLogoutUrls: readonly string[];
}

/** As long as the IdP's front-channel logout page waits for its frames. */
const FRAME_TIMEOUT_MS = 2500;

/** The iframes and the continue link of the IdP's front-channel logout page, if `html` is that page. */
export function parseFrontchannelLogoutPage(
  html: string,
  pageUrl: string,
): { readonly frameUrls: string[]; readonly continueUrl: string } | undefined {
  const link = /<a\b[^>]*\sid="continue"[^>]*>/i.exec(html)?.[0];
  const href = link && attribute(link, 'href');
  if (!href) return undefined;
  const frameUrls = [...html.matchAll(/<iframe\b[^>]*>/gi)]
    .map(([tag]) => attribute(tag, 'src'))
    .filter((src): src is string => src !== undefined)
    .map((src) => new URL(src, pageUrl).href);
  return { frameUrls, continueUrl: new URL(href, pageUrl).href };
}

/** Loads one iframe as a browser would: with the jar's cookies for it, whatever it answers. */
async function loadFrame(url: string, jar: CookieJar): Promise<void> {
  const cookie = jar.header(url);
  try {
    const response = await fetch(url, {
      headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) },
      signal: AbortSignal.timeout(FRAME_TIMEOUT_MS),
    });
    jar.store(url, response);
    await response.arrayBuffer();
  } catch (error) {
    // A browser shows a frame that fails to load as an error page and carries on; so does the
    // driver. Only network failures land here (status codes are no error for fetch).
    if (!(error instanceof TypeError || (error instanceof DOMException && error.name === 'TimeoutError'))) {
      throw error;
    }
  }
}

/**
 * Follows an RP-initiated logout (`…/v1/logout?id_token_hint=…`) at the dev IdP with the
 * browser's `jar`, and returns where the IdP sends the browser back (the
 * `post_logout_redirect_uri` with `state`). The IdP ends its session without a confirmation click.
 * When it shows its front-channel logout page, the driver loads the page's iframes (unless
 * `loadFrames` is false; they are returned either way) and follows its continue link, as a
 * browser running the page's script does.
 *
 * @throws {IdpLoginError} when the IdP shows another page instead of redirecting away.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RedirectionAfterLogout
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#OPLogout
 */
export async function driveIdpLogout({
  logoutUrl,
  jar = new CookieJar(),
  loadFrames = true,
}: {
  readonly logoutUrl: string | URL;
  readonly jar?: CookieJar;
  readonly loadFrames?: boolean;
}): Promise<IdpLogoutResult> {
  const idpOrigin = new URL(logoutUrl).origin;
  const frontchannelLogoutUrls: string[] = [];
  let url = new URL(logoutUrl).href;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const cookie = jar.header(url);
    const response = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
    jar.store(url, response);
    const location = response.headers.get('location');
    let next: string;
    if (response.status >= 300 && response.status < 400 && location) {
      // Read, not cancel: msw 2 (used by the BFF tests) never settles cancel() on a bypassed redirect.
      await response.arrayBuffer();
      next = new URL(location, url).href;
    } else {
      const html = await response.text();
      const page = response.ok ? parseFrontchannelLogoutPage(html, url) : undefined;
      if (!page) {
        throw new IdpLoginError(
          `dev IdP answered ${response.status} at ${new URL(url).pathname}: ${pageError(html)}`,
          response.ok ? 'unexpected_response' : 'idp_error_page',
          response.status,
        );
      }
      frontchannelLogoutUrls.push(...page.frameUrls);
      if (loadFrames) await Promise.all(page.frameUrls.map((frameUrl) => loadFrame(frameUrl, jar)));
      next = page.continueUrl;
    }
    url = next;
    if (new URL(url).origin !== idpOrigin) return { url, frontchannelLogoutUrls };
  }
  throw new IdpLoginError(`no redirect away after ${MAX_HOPS} hops`, 'too_many_hops');
}
