/**
 * The few HTML pages the dev IdP renders itself: the login form, the one-time-code page, the
 * front-channel logout page and a plain error page. They are small on purpose; tests drive them
 * by input name (`username`, `password`, `otp`) or element id, browsers by label.
 */
import { createHash } from 'node:crypto';
import type { DevUser } from './users.ts';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin-top:1rem}input{display:block;width:100%;padding:.4rem;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00}
table{border-collapse:collapse;margin-top:.5rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}`;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>${head}
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

/** Groups listed by name per user on the login page; the rest are counted. */
const LISTED_GROUPS = 3;

/** `Everyone, Admins`, or for a user in hundreds of groups `Everyone, a, b and 297 more`. */
function describeGroups(groups: readonly string[]): string {
  if (groups.length <= LISTED_GROUPS) return groups.join(', ');
  return `${groups.slice(0, LISTED_GROUPS).join(', ')} and ${groups.length - LISTED_GROUPS} more`;
}

/** What the login page shows. */
export interface LoginPageInput {
  /** Where the form posts to. */
  readonly action: string;
  readonly users: readonly DevUser[];
  /** Pre-fills the username after a failed attempt. */
  readonly username?: string;
  readonly error?: string;
}

/**
 * The login form. It lists the test users and their passwords because the IdP exists only for
 * development; a real IdP would never do this.
 */
export function renderLoginPage({ action, users, username = '', error }: LoginPageInput): string {
  const rows = users
    .map(
      (user) =>
        `<tr><td>${escapeHtml(user.login)}</td><td><code>${escapeHtml(user.password)}</code></td>` +
        `<td>${escapeHtml(describeGroups(user.claims.groups))}</td></tr>`,
    )
    .join('\n');
  const errorHtml = error ? `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>` : '';
  const describedBy = error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  return page(
    'Sign in – dev IdP',
    `<h1>Sign in to the dev IdP</h1>
${errorHtml}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" required autofocus value="${escapeHtml(username)}"${describedBy}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required${describedBy}>
<button type="submit">Sign in</button>
</form>
<h2>Test users</h2>
<table>
<caption>Development-only accounts</caption>
<thead><tr><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Groups</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}

/** What the one-time-code page shows. */
export interface OtpPageInput {
  /** Where the form posts to. */
  readonly action: string;
  /** Who is signing in (shown, so the user knows which account the code is for). */
  readonly login: string;
  /** The code the dev IdP accepts, shown on the page (development only). */
  readonly devCode: string;
  readonly error?: string;
}

/**
 * The second-factor page: a one-time code after the password (or on top of an IdP session that
 * has only the password), shown when the client asked for a stronger `acr`. The accepted code
 * is printed on the page, in `#dev-otp-code`, because the IdP exists only for development; tests
 * read it from there or use `DEV_OTP_CODE`.
 */
export function renderOtpPage({ action, login, devCode, error }: OtpPageInput): string {
  const errorHtml = error ? `<p class="error" role="alert" id="otp-error">${escapeHtml(error)}</p>` : '';
  const describedBy = error
    ? ' aria-describedby="otp-hint otp-error" aria-invalid="true"'
    : ' aria-describedby="otp-hint"';
  return page(
    'Verify it is you – dev IdP',
    `<h1>Verify it is you</h1>
<p>The application asks for a second factor for <strong>${escapeHtml(login)}</strong>.</p>
${errorHtml}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label for="otp">One-time code</label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required autofocus${describedBy}>
<button type="submit">Verify</button>
</form>
<p id="otp-hint">Development IdP: the code is always <code id="dev-otp-code">${escapeHtml(devCode)}</code>.</p>`,
  );
}

/** A plain error page; `fields` are shown as a definition list (e.g. `error`, `error_description`). */
export function renderErrorPage(title: string, fields: Readonly<Record<string, string | undefined>>): string {
  const items = Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('\n');
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<dl>\n${items}\n</dl>`);
}

/** One client to notify from the front-channel logout page. */
export interface FrontchannelFrame {
  /** The iframe's `src`: the client's `frontchannel_logout_uri`, with `iss` and `sid` when asked for. */
  readonly url: string;
  /** Names the iframe for assistive technology. */
  readonly clientName: string;
}

/** What the front-channel logout page shows and where it goes next. */
export interface FrontchannelLogoutPageInput {
  readonly frames: readonly FrontchannelFrame[];
  /** Where the browser goes once the frames loaded (or gave up): `post_logout_redirect_uri`. */
  readonly continueUrl: string;
  /** How long to wait for the frames at most. */
  readonly timeoutMs: number;
}

/** The page and the `Content-Security-Policy` it needs: its own script and style, and the frames. */
export interface RenderedPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

const sha256Source = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page of Front-Channel Logout 1.0 §3: one hidden iframe per client that shared the ended
 * session, then on to `continueUrl`. The window's `load` event waits for every frame, so the
 * script only has to listen for it, with a timeout for a client that never answers; without
 * JavaScript a meta refresh and a link do the same.
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#OPLogout
 */
export function renderFrontchannelLogoutPage({
  frames,
  continueUrl,
  timeoutMs,
}: FrontchannelLogoutPageInput): RenderedPage {
  const script = `
(function () {
  var done = false;
  function go() {
    if (done) return;
    done = true;
    location.replace(document.getElementById('continue').href);
  }
  addEventListener('load', go);
  setTimeout(go, ${Math.round(timeoutMs)});
})();
`;
  const refreshS = Math.ceil(timeoutMs / 1000) + 1;
  const head = `
<script>${script}</script>
<noscript><meta http-equiv="refresh" content="${refreshS};url=${escapeHtml(continueUrl)}"></noscript>`;
  const iframes = frames
    .map(
      (frame) =>
        `<iframe hidden src="${escapeHtml(frame.url)}" title="Sign-out of ${escapeHtml(frame.clientName)}"></iframe>`,
    )
    .join('\n');
  const html = page(
    'Signing out – dev IdP',
    `<h1>Signing out</h1>
<p>Telling ${frames.length === 1 ? 'the application' : `${frames.length} applications`} that you signed out…</p>
${iframes}
<p><a id="continue" href="${escapeHtml(continueUrl)}">Continue</a></p>`,
    head,
  );
  const frameOrigins = [...new Set(frames.map((frame) => new URL(frame.url).origin))];
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256Source(script)}`,
    `style-src ${sha256Source(STYLE)}`,
    `frame-src ${frameOrigins.join(' ') || "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
