/**
 * Longer `returnTo` values go to `/`: the transaction cookie carries it, and with a large session
 * cookie beside it the whole `Cookie` header must stay under the 8 KB that proxies accept.
 */
const MAX_RETURN_TO_LENGTH = 512;

/**
 * Where to send the browser after sign-in: `value` when it is a same-origin relative path,
 * else `/`. Refuses scheme-relative (`//evil`), backslash (`/\evil`, which browsers read as `//`),
 * absolute and `javascript:` URLs, and control characters; keeps query and fragment.
 *
 * @see OWASP Unvalidated Redirects and Forwards Cheat Sheet
 */
export function safeReturnTo(value: string | undefined, origin: string): string {
  if (!value || value.length > MAX_RETURN_TO_LENGTH) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/';
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return '/';
  }
  if (url.origin !== origin) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
