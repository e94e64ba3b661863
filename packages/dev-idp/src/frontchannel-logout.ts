/**
 * OpenID Connect Front-Channel Logout 1.0 for the dev IdP, which oidc-provider 9 does not
 * implement: the client metadata it needs, and the page that notifies the clients through the
 * browser when an IdP session ends. Okta's Single Logout uses this channel.
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html
 * @see https://developer.okta.com/docs/guides/single-logout/openidconnect/main/
 */
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { DevIdpEventRecorder } from './events.ts';
import { type FrontchannelFrame, renderFrontchannelLogoutPage } from './pages.ts';

type Next = () => Promise<unknown>;

/** The client metadata of Front-Channel Logout 1.0 §2, for `extraClientMetadata.properties`. */
export const FRONTCHANNEL_CLIENT_METADATA = Object.freeze([
  'frontchannel_logout_uri',
  'frontchannel_logout_session_required',
] as const);

/** How long the logout page waits for the clients' frames before it moves on. */
export const FRONTCHANNEL_TIMEOUT_MS = 2500;

/**
 * `extraClientMetadata.validator`: `frontchannel_logout_uri` is an absolute http(s) URL without a
 * fragment, `frontchannel_logout_session_required` a boolean, false when omitted.
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#RPLogout
 */
export function validateFrontchannelMetadata(
  _ctx: unknown,
  key: string,
  value: unknown,
  metadata: Record<string, unknown>,
): void {
  if (key === 'frontchannel_logout_session_required') {
    if (value === undefined) metadata[key] = false;
    else if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
  } else if (key === 'frontchannel_logout_uri' && value !== undefined) {
    const url = typeof value === 'string' && !value.includes('#') && URL.parse(value);
    if (!url || !['http:', 'https:'].includes(url.protocol)) {
      throw new errors.InvalidClientMetadata(`${key} must be an absolute http(s) URL without a fragment`);
    }
  }
}

/**
 * The iframe URL for one client: its `frontchannel_logout_uri`, plus `iss` and `sid` when the
 * client registered `frontchannel_logout_session_required`.
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#RPLogout
 */
export function frontchannelLogoutUrl(logoutUri: string, issuer: string, sid: string | undefined): string {
  const url = new URL(logoutUri);
  if (sid !== undefined) {
    url.searchParams.set('iss', issuer);
    url.searchParams.set('sid', sid);
  }
  return url.href;
}

interface SessionAuthorizations {
  readonly [clientId: string]: { readonly sid?: string } | undefined;
}

/** One frame per client of the ended session that registered a `frontchannel_logout_uri`. */
async function framesFor(
  provider: Provider,
  authorizations: SessionAuthorizations,
): Promise<(FrontchannelFrame & { clientId: string; sid: string | undefined })[]> {
  const frames = [];
  for (const [clientId, authorization] of Object.entries(authorizations)) {
    const client = await provider.Client.find(clientId);
    const metadata = client?.metadata();
    const logoutUri = metadata?.frontchannel_logout_uri;
    if (typeof logoutUri !== 'string') continue;
    const sid = metadata?.frontchannel_logout_session_required === true ? authorization?.sid : undefined;
    const url = frontchannelLogoutUrl(logoutUri, provider.issuer, sid);
    frames.push({ clientId, sid, url, clientName: client?.clientName ?? clientId });
  }
  return frames;
}

/**
 * Post-middleware on the end-session confirmation (where oidc-provider ends the IdP session and
 * sends its back-channel notifications): when the ended session was shared with clients that
 * registered a `frontchannel_logout_uri`, the 303 to `post_logout_redirect_uri` becomes the
 * front-channel logout page, which loads their iframes and then goes there. The session is already
 * ended when the page renders, so a plain HTTP client that does not load it still signed out at the
 * IdP; it only does not reach the redirect (`driveIdpLogout` follows the page's link).
 *
 * Only a full logout (`logout=yes`, what the Okta-like logout bridge always sends) notifies.
 */
export function createFrontchannelLogoutBridge(events: DevIdpEventRecorder) {
  return async function renderFrontchannelLogout(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    await next();
    const session = ctx.oidc?.session;
    const continueUrl = ctx.response.get('location');
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !continueUrl) return;
    // Set by `session.destroy()`; the ended session's authorizations are still in memory.
    if (!session || !(session as { destroyed?: boolean }).destroyed || !session.authorizations) return;

    const frames = await framesFor(ctx.oidc.provider, session.authorizations);
    if (frames.length === 0) return;
    for (const { clientId, sid, url } of frames) events.recordFrontchannelLogout({ clientId, sid, url });

    const page = renderFrontchannelLogoutPage({ frames, continueUrl, timeoutMs: FRONTCHANNEL_TIMEOUT_MS });
    ctx.remove('location');
    ctx.status = 200;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.set('content-security-policy', page.contentSecurityPolicy);
    // The page's URL holds the confirm step's xsrf value: not for the clients' Referer.
    ctx.set('referrer-policy', 'no-referrer');
    ctx.body = page.html;
  };
}
