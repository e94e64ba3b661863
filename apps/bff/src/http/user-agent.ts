/**
 * A coarse description of the browser a session was signed in from ("Chrome on Linux", "Safari on
 * iPhone"), for the user's list of their sessions (`GET /auth/sessions`). Only this description is
 * kept, never the `User-Agent` itself: it is enough to tell one's devices apart, and says nothing
 * that fingerprints a browser (versions, build numbers, device models).
 *
 * A `User-Agent` is whatever the client sends: only its first {@link MAX_USER_AGENT_CHARS}
 * characters are looked at, with plain substring tests (no backtracking regular expression), and
 * anything not recognised is {@link UNKNOWN_DEVICE}.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/HTTP/Browser_detection_using_the_user_agent
 */

/** A real browser's `User-Agent` is 100–300 characters; nothing past this is looked at. */
export const MAX_USER_AGENT_CHARS = 512;

/** What an unrecognised (or absent) `User-Agent` is described as. */
export const UNKNOWN_DEVICE = 'Unknown device';

/** Browsers, most specific first: Edge, Opera and Samsung Internet also say `Chrome/` and `Safari/`. */
const BROWSERS: readonly (readonly [name: string, markers: readonly string[]])[] = [
  ['Edge', ['Edg/', 'EdgA/', 'EdgiOS/', 'Edge/']],
  ['Opera', ['OPR/', 'OPiOS/', 'Opera']],
  ['Samsung Internet', ['SamsungBrowser/']],
  ['Firefox', ['Firefox/', 'FxiOS/']],
  ['Chrome', ['CriOS/', 'Chrome/', 'Chromium/']],
];

/** Systems, most specific first: an iPhone's says `like Mac OS X`, Android's says `Linux`. */
const SYSTEMS: readonly (readonly [name: string, markers: readonly string[]])[] = [
  ['iPhone', ['iPhone', 'iPod']],
  ['iPad', ['iPad']],
  ['Android', ['Android']],
  ['Windows', ['Windows']],
  ['ChromeOS', ['CrOS']],
  ['macOS', ['Macintosh', 'Mac OS X']],
  ['Linux', ['Linux', 'X11']],
];

const firstMatch = (
  text: string,
  table: readonly (readonly [string, readonly string[]])[],
): string | undefined => table.find(([, markers]) => markers.some((marker) => text.includes(marker)))?.[0];

/**
 * "<browser> on <system>", the browser or the system alone when only one is recognised, else
 * {@link UNKNOWN_DEVICE}. Pure; never throws.
 */
export function describeDevice(userAgent: string | undefined): string {
  if (!userAgent) return UNKNOWN_DEVICE;
  const text = userAgent.slice(0, MAX_USER_AGENT_CHARS);
  // Safari names no browser of its own: a WebKit `Version/…` or an iOS `Mobile/…` without another's marker.
  const browser =
    firstMatch(text, BROWSERS) ??
    (text.includes('AppleWebKit/') && (text.includes('Version/') || text.includes('Mobile/'))
      ? 'Safari'
      : undefined);
  const system = firstMatch(text, SYSTEMS);
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? UNKNOWN_DEVICE;
}

/** The descriptions {@link describeDevice} can produce, and nothing else (a record read back is checked). */
const DESCRIPTION = /^[A-Za-z][A-Za-z ]{0,39}$/;

/**
 * `value` if it can be a description {@link describeDevice} made, else {@link UNKNOWN_DEVICE}: what
 * is read back from a store is shown to the user, so it is checked like any input.
 */
export function deviceDescriptionOr(value: string | undefined): string {
  return value !== undefined && DESCRIPTION.test(value) ? value : UNKNOWN_DEVICE;
}
