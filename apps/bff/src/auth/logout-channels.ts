import type { Idp } from '../oidc/idp.ts';
import { validateLogoutToken } from '../oidc/logout-token.ts';
import { type AuthContext, revokeBestEffort } from './actions.ts';

/**
 * The IdP-initiated logouts, as actions: a back-channel logout token (server to server) or a
 * front-channel notification (a hidden iframe in the user's browser) ends sessions by the IdP's
 * session id or by user, through the session store, so every instance the store reaches refuses
 * them. Neither looks at cookies: the caller is the IdP, not the user's browser.
 */

export type BackchannelResult =
  | { readonly ok: true; readonly ended: number }
  | { readonly ok: false; readonly reason: string };

/**
 * `POST /auth/backchannel-logout`: validates the logout token (OIDC Back-Channel Logout §2.6, plus
 * `jti` replay), ends the matching sessions and revokes their refresh tokens where the store has
 * them (best effort, in parallel, each bounded in time).
 */
export async function backchannelLogout(
  ctx: AuthContext,
  idp: Idp,
  logoutToken: string | undefined,
): Promise<BackchannelResult> {
  if (!logoutToken) return { ok: false, reason: 'no logout_token' };
  const nowS = Math.floor((ctx.nowMs?.() ?? Date.now()) / 1000);
  let request: Awaited<ReturnType<typeof validateLogoutToken>>;
  try {
    request = await validateLogoutToken(idp, logoutToken, nowS);
  } catch (error) {
    ctx.log('backchannel_logout_refused', { cause: error });
    return { ok: false, reason: 'the logout token is not valid' };
  }
  if (!(await ctx.sessions.claimOnce(`jti:${request.jti}`, request.rememberUntil, ctx.traceParent))) {
    ctx.log('backchannel_logout_refused', { reason: 'replayed jti' });
    return { ok: false, reason: 'the logout token was already used' };
  }
  let ended: Awaited<ReturnType<typeof ctx.sessions.endMatching>>;
  try {
    ended = await ctx.sessions.endMatching(
      request.sid !== undefined
        ? { idpSid: request.sid, beforeS: nowS }
        : { sub: request.sub, beforeS: nowS },
      ctx.traceParent,
    );
  } catch (error) {
    // Nothing was promised yet: forget the jti, so the IdP's retry of this token is not a "replay".
    await ctx.sessions.unclaim(`jti:${request.jti}`, ctx.traceParent).catch(() => {
      // The store is failing already; the claim expires with the token.
    });
    throw error;
  }
  await Promise.all(ended.refreshTokens.map((token) => revokeBestEffort(ctx, idp, token, 'backchannel')));
  ctx.log('backchannel_logout', { by: request.sid !== undefined ? 'sid' : 'sub', ended: ended.count });
  return { ok: true, ended: ended.count };
}

/**
 * The longest IdP session id accepted: OpenID Connect gives `sid` no length, real IdPs send tens
 * of characters, and an unauthenticated caller must not make this process hash or hold more.
 */
export const MAX_FRONTCHANNEL_SID_CHARS = 255;

export type FrontchannelResult =
  | { readonly ok: true; readonly ended: number }
  | { readonly ok: false; readonly reason: string };

/**
 * `GET /auth/frontchannel-logout?iss=…&sid=…`: when `iss` is our issuer, every session of that IdP
 * session ends. Anything else ends nothing, with the same answer, except a `sid` too long to be
 * one (refused).
 *
 * @see https://openid.net/specs/openid-connect-frontchannel-1_0.html#RPLogout
 */
export async function frontchannelLogout(
  ctx: AuthContext,
  idp: Idp,
  params: { readonly iss: string | undefined; readonly sid: string | undefined },
): Promise<FrontchannelResult> {
  if (params.sid !== undefined && params.sid.length > MAX_FRONTCHANNEL_SID_CHARS) {
    ctx.log('frontchannel_logout_refused', { reason: 'sid too long' });
    return { ok: false, reason: `sid is longer than ${MAX_FRONTCHANNEL_SID_CHARS} characters` };
  }
  if (params.iss !== idp.as.issuer || !params.sid) {
    ctx.log('frontchannel_logout_ignored', { reason: params.iss !== idp.as.issuer ? 'iss' : 'no sid' });
    return { ok: true, ended: 0 };
  }
  const nowS = Math.floor((ctx.nowMs?.() ?? Date.now()) / 1000);
  const ended = await ctx.sessions.endMatching({ idpSid: params.sid, beforeS: nowS }, ctx.traceParent);
  await Promise.all(ended.refreshTokens.map((token) => revokeBestEffort(ctx, idp, token, 'frontchannel')));
  ctx.log('frontchannel_logout', { ended: ended.count });
  return { ok: true, ended: ended.count };
}
