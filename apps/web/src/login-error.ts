/**
 * Sign-in failures come back as `/?login_error=<code>` (see the callback row of the BFF contract).
 * Only the code is read, and only to pick one of our own sentences: nothing from the URL is ever
 * shown, so a crafted link cannot put text (or markup) in front of the user.
 */
import type { LoginErrorCode } from '@okta-bff/oidc/wire';
import { LOGIN_ERROR_CODES } from '@okta-bff/oidc/wire';

/** Query parameter the BFF's callback sets on failure. */
export const LOGIN_ERROR_PARAM = 'login_error';

/** What we say for each known code. */
export const LOGIN_ERROR_MESSAGES: Readonly<Record<LoginErrorCode, string>> = {
  login_expired: 'Your sign-in took too long or was started in another browser. Please sign in again.',
  state_mismatch: 'We could not match this sign-in to your browser. Please sign in again.',
  access_denied: 'Sign-in was cancelled or is not allowed for your account.',
  login_required: 'You need to sign in with your identity provider first.',
  idp_error: 'The identity provider could not complete your sign-in.',
  token_exchange_failed: 'We could not complete your sign-in. Please try again.',
  idp_unavailable: 'The identity provider is unavailable right now. Please try again in a moment.',
  session_store_unavailable: 'We could not keep your session just now. Please try again in a moment.',
  session_too_large:
    'Your account has more group memberships than this app can keep in a cookie. Please contact your administrator.',
  step_up_failed:
    'The sign-in did not reach the required strength (a second factor). Your previous session is still active.',
  step_up_invalid: 'That step-up link has expired or was already used. Try the action again.',
};

/** Said for any code we do not know (including anything a crafted link puts there). */
export const GENERIC_LOGIN_ERROR_MESSAGE = 'Sign-in did not complete. Please try again.';

const KNOWN: ReadonlySet<string> = new Set(LOGIN_ERROR_CODES);

/** Narrows a string from the URL to a known {@link LoginErrorCode}. */
export function isLoginErrorCode(value: string): value is LoginErrorCode {
  return KNOWN.has(value);
}

/** The sentence to show for a `login_error` value; unknown values get the generic sentence. */
export function loginErrorMessage(code: string): string {
  return isLoginErrorCode(code) ? LOGIN_ERROR_MESSAGES[code] : GENERIC_LOGIN_ERROR_MESSAGE;
}

/** The subset of `window` that {@link takeLoginError} touches, so tests can pass a fake. */
export interface UrlHost {
  location: Pick<Location, 'href'>;
  history: Pick<History, 'replaceState' | 'state'>;
}

/**
 * Reads `login_error` from the current URL, then removes it with `history.replaceState` so that a
 * reload or a shared link does not show the failure again.
 * @returns the message to show, or `null` when the URL has no `login_error`.
 */
export function takeLoginError(host: UrlHost = window): string | null {
  const url = new URL(host.location.href);
  const code = url.searchParams.get(LOGIN_ERROR_PARAM);
  if (code === null) return null;
  url.searchParams.delete(LOGIN_ERROR_PARAM);
  host.history.replaceState(host.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  return loginErrorMessage(code);
}
