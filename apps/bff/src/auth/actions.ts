import { createHash } from 'node:crypto';
import type { AuthUserBody, BffConfig, LoginErrorCode, LogoutBody } from '@okta-bff/oidc';
import type { Idp } from '../oidc/idp.ts';
import { buildAuthorizationRequest, completeAuthorization, LoginError } from '../oidc/login.ts';
import { safeReturnTo } from '../oidc/return-to.ts';
import { buildEndSessionUrl, revokeToken } from '../oidc/tokens.ts';
import {
  type CookieNames,
  type CookieToSet,
  chunkNamesPresent,
  deletion,
  writeChunkedCookie,
} from '../session/cookies.ts';
import { newSessionId, type Session, type SessionCodec } from '../session/session.ts';

/**
 * The sign-in, callback and sign-out steps as functions from plain inputs to a description of
 * the response (`redirect`/`json` and cookies), in the manner of Auth.js actions. The routes
 * turn these into HTTP; the steps themselves never see a request object.
 */
export interface ActionResult {
  readonly status: number;
  readonly redirect?: string;
  readonly json?: unknown;
  readonly cookies: readonly CookieToSet[];
}

export interface AuthContext {
  readonly config: BffConfig;
  readonly codec: SessionCodec;
  readonly names: CookieNames;
  /** Where failures that the user only sees as a code are explained. */
  readonly log: (event: string, details: Record<string, unknown>) => void;
  readonly now?: () => number;
}

/** Logins older than this cannot complete: the transaction cookie and its sealed payload expire. */
export const TXN_COOKIE_MAX_AGE_S = 600;
/** Revocation at logout may delay the answer by at most this long. */
export const REVOKE_TIMEOUT_MS = 2_000;

const nowS = (ctx: AuthContext) => Math.floor((ctx.now?.() ?? Date.now()) / 1000);

/**
 * Names the transaction cookie after a hash of its `state`, so several logins (tabs) can be in
 * flight at once and the callback finds its own without trusting anything else from the URL.
 */
export function transactionCookieName(names: CookieNames, state: string): string {
  return `${names.txnPrefix}${createHash('sha256').update(state).digest('base64url').slice(0, 22)}`;
}

/**
 * The transaction cookie must come back on the IdP's redirect: a top-level GET (query mode)
 * carries `SameSite=Lax` cookies, a cross-site POST (form_post) only `SameSite=None; Secure` ones.
 */
function transactionAttributes(ctx: AuthContext, maxAgeS: number): Omit<CookieToSet, 'name' | 'value'> {
  return ctx.config.responseMode === 'form_post'
    ? { maxAgeS, sameSite: 'None', secure: true }
    : { maxAgeS, sameSite: 'Lax', secure: ctx.names.secure };
}

function sessionAttributes(ctx: AuthContext, maxAgeS: number): Omit<CookieToSet, 'name' | 'value'> {
  return { maxAgeS, sameSite: 'Lax', secure: ctx.names.secure };
}

/** `GET /auth/login`: a fresh transaction bound to this browser, and the redirect to the IdP. */
export async function startLogin(
  ctx: AuthContext,
  idp: Idp,
  returnTo: string | undefined,
): Promise<ActionResult> {
  const { url, transaction } = await buildAuthorizationRequest(idp, {
    scopes: ctx.config.scopes,
    prompt: ctx.config.prompt,
    responseMode: ctx.config.responseMode,
    returnTo: safeReturnTo(returnTo, ctx.config.publicOrigin),
  });
  const sealed = await ctx.codec.sealTransaction(transaction, nowS(ctx) + TXN_COOKIE_MAX_AGE_S);
  return {
    status: 302,
    redirect: url.href,
    cookies: [
      {
        name: transactionCookieName(ctx.names, transaction.state),
        value: sealed,
        ...transactionAttributes(ctx, TXN_COOKIE_MAX_AGE_S),
      },
    ],
  };
}

/**
 * The callback at `REDIRECT_URL`: validates the response against this browser's transaction,
 * exchanges the code and mints a fresh session. Any failure: no session, the transaction
 * cleared, and a redirect to `/?login_error=<code>`; never a 5xx.
 */
export async function completeLogin(
  ctx: AuthContext,
  idp: Idp,
  params: URLSearchParams,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  const state = params.get('state');
  const txnName = state ? transactionCookieName(ctx.names, state) : undefined;
  const txnCookie = txnName ? cookies[txnName] : undefined;
  const clearTxn =
    txnName && txnCookie !== undefined ? [deletion(txnName, transactionAttributes(ctx, 0))] : [];
  const fail = (code: LoginErrorCode, reason: string, cause?: unknown): ActionResult => {
    ctx.log('login_failed', { code, reason, cause });
    return { status: 302, redirect: `/?login_error=${code}`, cookies: clearTxn };
  };

  if (!state) return fail('state_mismatch', 'the callback has no state');
  if (txnCookie === undefined) {
    const otherLogins = Object.keys(cookies).some((n) => n.startsWith(ctx.names.txnPrefix));
    return otherLogins
      ? fail('state_mismatch', 'no transaction of this browser has that state')
      : fail('login_expired', 'no transaction cookie: not started here, expired, or already used');
  }
  const transaction = await ctx.codec.unsealTransaction(txnCookie);
  if (!transaction) return fail('login_expired', 'the transaction cookie did not open (expired or tampered)');
  if (transaction.state !== state) return fail('state_mismatch', 'state does not match the transaction');

  let result: Awaited<ReturnType<typeof completeAuthorization>>;
  try {
    result = await completeAuthorization(idp, transaction, params, () => nowS(ctx));
  } catch (error) {
    if (error instanceof LoginError) return fail(error.code, error.message, error.cause);
    throw error;
  }

  const now = nowS(ctx);
  const session: Session = {
    sid: newSessionId(),
    user: result.user,
    accessToken: result.accessToken,
    accessTokenExpiresAt: result.accessTokenExpiresAt,
    refreshToken: result.refreshToken,
    idToken: result.idToken,
    scope: result.scope,
    expiresAt: now + ctx.config.sessionMaxAgeS,
  };
  ctx.log('login_succeeded', { sid: session.sid, sub: session.user.sub });
  return {
    status: 302,
    redirect: transaction.returnTo,
    cookies: [...clearTxn, ...(await sessionCookies(ctx, session, cookies))],
  };
}

/** The cookies that store `session`, replacing whatever session cookies the browser sent. */
export async function sessionCookies(
  ctx: AuthContext,
  session: Session,
  cookies: Readonly<Record<string, string>>,
): Promise<CookieToSet[]> {
  const sealed = await ctx.codec.sealSession(session);
  const maxAgeS = Math.max(0, session.expiresAt - nowS(ctx));
  return writeChunkedCookie(
    ctx.names.session,
    sealed,
    sessionAttributes(ctx, maxAgeS),
    chunkNamesPresent(cookies, ctx.names.session),
  );
}

/** Deletions for every session cookie (and chunk) the browser sent. */
export function clearSessionCookies(
  ctx: AuthContext,
  cookies: Readonly<Record<string, string>>,
): CookieToSet[] {
  return chunkNamesPresent(cookies, ctx.names.session).map((name) =>
    deletion(name, sessionAttributes(ctx, 0)),
  );
}

/** `GET /auth/user`: who is signed in, never a token. */
export function describeUser(session: Session | undefined): { status: 200 | 401; json: AuthUserBody } {
  if (!session) return { status: 401, json: { authenticated: false } };
  return {
    status: 200,
    json: { authenticated: true, user: session.user, session: { expiresAt: session.expiresAt } },
  };
}

/**
 * `POST /auth/logout`: clears the session cookies, revokes the refresh token (best effort,
 * bounded), and answers the IdP's end-session URL for the SPA to navigate to.
 */
export async function logout(
  ctx: AuthContext,
  idp: Idp | undefined,
  session: Session | undefined,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  const postLogoutRedirectUri = ctx.config.postLogoutRedirectUrl;
  if (idp && session?.refreshToken) {
    try {
      await revokeToken(idp, session.refreshToken, 'refresh_token', REVOKE_TIMEOUT_MS);
    } catch (error) {
      // Revocation is best effort: the session cookie is cleared either way and the refresh
      // token expires at the IdP on its own.
      ctx.log('revocation_failed', { sid: session.sid, cause: error });
    }
  }
  const body: LogoutBody = {
    logoutUrl: idp
      ? buildEndSessionUrl(idp, { idToken: session?.idToken, postLogoutRedirectUri })
      : postLogoutRedirectUri,
  };
  if (session) ctx.log('logout', { sid: session.sid });
  return { status: 200, json: body, cookies: clearSessionCookies(ctx, cookies) };
}
