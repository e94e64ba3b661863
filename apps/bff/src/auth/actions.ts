import type { AuthUserBody, BffConfig, LoginErrorCode, LogoutBody } from '@okta-bff/oidc';
import type { Context } from '@opentelemetry/api';
import { ApiError, LoginError } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import type { EventLog } from '../logger.ts';
import type { DpopKey } from '../oidc/dpop.ts';
import type { Idp } from '../oidc/idp.ts';
import { buildAuthorizationRequest, completeAuthorization } from '../oidc/login.ts';
import { safeReturnTo } from '../oidc/return-to.ts';
import { buildEndSessionUrl, revokeToken } from '../oidc/tokens.ts';
import type { Metrics } from '../ops/metrics.ts';
import { authenticationOf } from '../session/model/authentication.ts';
import type { Session } from '../session/model/session.ts';
import { CookieBudgetError, type CookieNames, deletion } from '../session/store/cookies.ts';
import type { SessionStore } from '../session/store/store.ts';
import { meetsStepUp, type PendingStepUp, type StepUpCodec } from './step-up.ts';
import {
  boundReturnTo,
  chooseTransactionSlot,
  findTransaction,
  readTransactionSlots,
  staleTransactionCookies,
  type TransactionCodec,
  TXN_COOKIE_MAX_AGE_S,
  transactionAttributes,
} from './transaction.ts';

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

/**
 * What the actions work with, built once per process (`services.ts`); the Hono routes give each
 * request its own copy, with the request's logger and trace context.
 */
export interface AuthContext {
  readonly config: BffConfig;
  readonly names: CookieNames;
  readonly sessions: SessionStore;
  readonly transactions: TransactionCodec;
  /** Where failures that the user only sees as a code are explained. */
  readonly log: EventLog;
  readonly metrics: Metrics;
  /** Where step-up requirements wait for their sign-in (RFC 9470). */
  readonly stepUps: StepUpCodec;
  /** Epoch milliseconds. */
  readonly nowMs?: () => number;
  /**
   * The request's trace context (its server span), with tracing on: the IdP and store calls an
   * action makes are its children. The `/api` proxy shares one context among its requests and
   * passes theirs in the request's facts instead (`ApiRequestFacts`).
   */
  readonly traceParent?: Context | undefined;
}

/** Revocation at logout may delay the answer by at most this long. */
export const REVOKE_TIMEOUT_MS = 2_000;

const nowS = (ctx: AuthContext) => Math.floor((ctx.nowMs?.() ?? Date.now()) / 1000);

/** Whose doing each `login_error` is: the user's (or their browser's), or the IdP's and ours. */
const SIDE_OF_LOGIN_ERROR: Readonly<Record<LoginErrorCode, 'user' | 'ours'>> = {
  login_expired: 'user',
  state_mismatch: 'user',
  access_denied: 'user',
  login_required: 'user',
  idp_error: 'ours',
  token_exchange_failed: 'ours',
  idp_unavailable: 'ours',
  session_too_large: 'ours',
  session_store_unavailable: 'ours',
  // The sign-in did not reach the strength asked for: the user's (a factor not given), or an IdP
  // that ignores `acr_values`, which the warn-level IdP lines would show.
  step_up_failed: 'user',
  step_up_invalid: 'user',
};

/**
 * How every failed sign-in ends, wherever it failed (no IdP yet, a refused authorization request,
 * a callback that does not validate, a malformed form_post): one log line with the code and the
 * cause, the login counted by its code, and the browser sent to `/?login_error=<code>`, which the
 * SPA explains in its own words. `cookies` are the transaction's deletion, when there is one.
 */
export function loginFailed(
  ctx: AuthContext,
  code: LoginErrorCode,
  reason: string,
  cause?: unknown,
  cookies: readonly CookieToSet[] = [],
): ActionResult {
  // What the IdP or the BFF's own store did is worth a look (warn); what a user did is not (info).
  ctx.log('login_failed', { code, reason, cause }, SIDE_OF_LOGIN_ERROR[code] === 'ours' ? 'warn' : 'info');
  ctx.metrics.countLogin(code);
  return { status: 302, redirect: `/?login_error=${code}`, cookies };
}

/**
 * The `login_error` code for a failure inside the callback: a sign-in failure carries its own;
 * a store that cannot keep the new session, or a session too large for cookies, have theirs;
 * anything unexpected still ends the login cleanly as `token_exchange_failed`.
 */
function loginCodeOf(error: unknown): LoginErrorCode {
  if (error instanceof LoginError) return error.code;
  if (error instanceof CookieBudgetError) return 'session_too_large';
  if (error instanceof ApiError && error.code === 'session_store_unavailable')
    return 'session_store_unavailable';
  return 'token_exchange_failed';
}

/**
 * `GET /auth/login`: a fresh transaction bound to this browser, and the redirect to the IdP.
 * `cookies` are the request's: the transaction goes into one of `MAX_TXN_COOKIES` fixed slots (a
 * free one, else the oldest login's), so no number of logins, even started all at once, makes the
 * browser hold more; transaction cookies of earlier releases are deleted.
 *
 * With `stepUpId` (`?stepUp=<id>`, from a 401 `step_up_required`): the requirement is the one this
 * browser's step-up cookie holds under that id, taken once (the cookie is deleted); its `acr_values`
 * and `max_age` go to the IdP and into the transaction, and its `returnTo` replaces the query's.
 * An id the cookie does not hold (unknown, used, expired, another browser's) ends the login
 * with `step_up_invalid` before anything is sent to the IdP.
 */
export async function startLogin(
  ctx: AuthContext,
  idp: Idp | undefined,
  returnTo: string | undefined,
  cookies: Readonly<Record<string, string>>,
  stepUpId?: string,
): Promise<ActionResult> {
  let stepUpCookies: CookieToSet[] = [];
  let stepUp: PendingStepUp | undefined;
  if (stepUpId !== undefined) {
    stepUp = await ctx.stepUps.take(cookies, stepUpId, nowS(ctx));
    // A wrong id leaves the browser's own pending step-up alone (a link with a forged id must not
    // cancel it); the right one uses it up.
    if (!stepUp) return loginFailed(ctx, 'step_up_invalid', 'no step-up of this browser has that id');
    stepUpCookies = [ctx.stepUps.deletion()];
  }
  if (!idp) return loginFailed(ctx, 'idp_unavailable', 'login before the IdP metadata loaded');
  let request: Awaited<ReturnType<typeof buildAuthorizationRequest>>;
  try {
    request = await buildAuthorizationRequest(
      idp,
      {
        scopes: ctx.config.scopes,
        prompt: ctx.config.prompt,
        responseMode: ctx.config.responseMode,
        returnTo: boundReturnTo(safeReturnTo(stepUp ? stepUp.returnTo : returnTo, ctx.config.publicOrigin)),
        ...(stepUp ? { stepUp: stepUp.requirement } : {}),
      },
      ctx.traceParent,
    );
  } catch (error) {
    // With PAR the IdP is called here: its failure is a failed sign-in like any other.
    if (error instanceof LoginError) return loginFailed(ctx, error.code, error.message, error.cause);
    throw error;
  }
  const { url, transaction } = request;
  // To the millisecond, so that logins started within one second still have an order.
  const startedAtS = (ctx.nowMs?.() ?? Date.now()) / 1000;
  const sealed = await ctx.transactions.seal(transaction, startedAtS + TXN_COOKIE_MAX_AGE_S);
  const slot = await transactionSlotFor(ctx, cookies);
  return {
    status: 302,
    redirect: url.href,
    cookies: [
      {
        name: slot,
        value: sealed,
        ...transactionAttributes(ctx.config.responseMode, ctx.names, TXN_COOKIE_MAX_AGE_S),
      },
      ...staleTransactionDeletions(ctx, cookies),
      ...stepUpCookies,
    ],
  };
}

/**
 * The slot a new login is written to (see `chooseTransactionSlot`). Replacing a login in flight is
 * logged as a count only: no cookie name or value.
 */
async function transactionSlotFor(
  ctx: AuthContext,
  cookies: Readonly<Record<string, string>>,
): Promise<string> {
  const slots = await readTransactionSlots(ctx.transactions, ctx.names, cookies, nowS(ctx));
  const slot = chooseTransactionSlot(slots);
  if (slot.opened) ctx.log('login_transactions_dropped', { count: 1 });
  return slot.name;
}

/** Deletions of the request's transaction cookies under names that are not slots (earlier releases'). */
function staleTransactionDeletions(
  ctx: AuthContext,
  cookies: Readonly<Record<string, string>>,
): CookieToSet[] {
  const attributes = transactionAttributes(ctx.config.responseMode, ctx.names, 0);
  return staleTransactionCookies(ctx.names, cookies).map((name) => deletion(name, attributes));
}

/**
 * The callback at `REDIRECT_URL`: validates the response against this browser's transaction,
 * exchanges the code and mints a fresh session. The transaction is the one, among the slots the
 * request carries, whose sealed `state` is the callback's. Any failure: no session, that slot
 * cleared (other tabs' logins left alone), and a redirect to `/?login_error=<code>`.
 */
export async function completeLogin(
  ctx: AuthContext,
  idp: Idp | undefined,
  params: URLSearchParams,
  cookies: Readonly<Record<string, string>>,
  /** The browser's `User-Agent`: the Redis store keeps a coarse description of it (the Devices page). */
  userAgent?: string,
): Promise<ActionResult> {
  // The transaction stays: the same callback can complete once the IdP metadata is there.
  if (!idp) return loginFailed(ctx, 'idp_unavailable', 'callback before the IdP metadata loaded');
  const state = params.get('state');
  const slots = await readTransactionSlots(ctx.transactions, ctx.names, cookies, nowS(ctx));
  const slot = state ? findTransaction(slots, state) : undefined;
  const clearTxn = [
    ...(slot ? [deletion(slot.name, transactionAttributes(ctx.config.responseMode, ctx.names, 0))] : []),
    ...staleTransactionDeletions(ctx, cookies),
  ];
  const fail = (code: LoginErrorCode, reason: string, cause?: unknown): ActionResult =>
    loginFailed(ctx, code, reason, cause, clearTxn);

  if (!state) return fail('state_mismatch', 'the callback has no state');
  if (!slot) {
    // Slots that do not open (expired, tampered, another key) are no login in flight.
    return slots.some((s) => s.opened)
      ? fail('state_mismatch', 'no transaction of this browser has that state')
      : fail('login_expired', 'no transaction that opens: not started here, expired, or already used');
  }
  const { transaction } = slot.opened;

  try {
    const result = await completeAuthorization(idp, transaction, params, () => nowS(ctx), ctx.traceParent);
    const { stepUp } = transaction;
    if (stepUp && !meetsStepUp({ acr: result.acr, authTimeS: result.authTimeS }, stepUp, nowS(ctx))) {
      // Not the sign-in that was asked for: its tokens are not kept (its refresh token is
      // revoked), and the session the browser had stays as it was.
      await revokeBestEffort(ctx, idp, result.refreshToken, 'step-up', result.dpopKey);
      return fail(
        'step_up_failed',
        `the step-up sign-in has acr ${result.acr ?? '(none)'} and auth_time ${result.authTimeS ?? '(none)'}; asked for acr_values ${stepUp.acrValues.join(' ') || '(any)'}, max_age ${stepUp.maxAgeS ?? '(any)'}`,
      );
    }
    // A step-up replaces a session: the one it replaces gives up its refresh token.
    const replaced = stepUp ? await ctx.sessions.read(cookies, ctx.traceParent) : undefined;
    const { session, cookies: sessionCookies } = await ctx.sessions.create(
      {
        idpSid: result.idpSid,
        user: result.user,
        accessToken: result.accessToken,
        accessTokenExpiresAt: result.accessTokenExpiresAt,
        refreshToken: result.refreshToken,
        idToken: result.idToken,
        scope: result.scope,
        ...(result.dpopKey === undefined ? {} : { dpopKey: result.dpopKey }),
        createdAt: nowS(ctx),
        lastSeenAt: nowS(ctx),
        expiresAt: nowS(ctx) + ctx.config.sessionMaxAgeS,
      },
      cookies,
      { userAgent },
      ctx.traceParent,
    );
    if (replaced) {
      await ctx.sessions.end(replaced.session, {}, ctx.traceParent);
      await revokeBestEffort(
        ctx,
        idp,
        replaced.session.refreshToken,
        replaced.session.sid,
        replaced.session.dpopKey,
      );
    }
    ctx.log('login_succeeded', {
      sid: session.sid,
      sub: session.user.sub,
      ...(stepUp ? { stepUp: true, acr: result.acr } : {}),
    });
    ctx.metrics.countLogin('success');
    return { status: 302, redirect: transaction.returnTo, cookies: [...clearTxn, ...sessionCookies] };
  } catch (error) {
    const code = loginCodeOf(error);
    const reason =
      code === 'session_too_large'
        ? 'the session does not fit in cookies even compressed; set SESSION_STORE=redis to keep sessions server-side'
        : error instanceof Error
          ? error.message
          : 'the sign-in failed unexpectedly';
    return fail(code, reason, error instanceof LoginError ? error.cause : error);
  }
}

/**
 * `GET /auth/user`: who is signed in, never a token, and when the session ends: its absolute end,
 * and when it idles out unless another authenticated request comes first (this request renewed
 * the idle clock: in Redis the record's TTL starts again now; in the cookie the renewal is written
 * every few minutes, from `lastSeenAt`); and how the user authenticated (`acr`, `auth_time`).
 */
export function describeUser(
  ctx: AuthContext,
  session: Session | undefined,
): { status: 200 | 401; json: AuthUserBody } {
  if (!session) return { status: 401, json: { authenticated: false } };
  const idleFromS = ctx.config.sessionStore === 'redis' ? nowS(ctx) : session.lastSeenAt;
  const { acr, authTimeS } = authenticationOf(session);
  return {
    status: 200,
    json: {
      authenticated: true,
      user: session.user,
      session: {
        expiresAt: session.expiresAt,
        idleExpiresAt: Math.min(session.expiresAt, idleFromS + ctx.config.sessionIdleTimeoutS),
        acr: acr ?? null,
        authTime: authTimeS ?? null,
      },
    },
  };
}

/**
 * Revokes a refresh token, best effort and bounded in time: the session ends either way, and an
 * unrevoked refresh token still expires at the IdP on its own. Traced under `parent`, by default
 * the request's (`ctx.traceParent`).
 */
export async function revokeBestEffort(
  ctx: AuthContext,
  idp: Idp | undefined,
  token: string | undefined,
  sid: string,
  dpopKey?: DpopKey,
  parent: Context | undefined = ctx.traceParent,
): Promise<void> {
  if (!idp || !token) return;
  try {
    await revokeToken(idp, token, 'refresh_token', REVOKE_TIMEOUT_MS, dpopKey, parent);
  } catch (error) {
    // Best effort by design (see above): logged, not rethrown.
    ctx.log('revocation_failed', { sid, cause: error });
  }
}

/**
 * `POST /auth/logout`: ends the session in its store, revokes the refresh token (best effort,
 * bounded), and answers the IdP's end-session URL for the SPA to navigate to.
 */
export async function logout(
  ctx: AuthContext,
  idp: Idp | undefined,
  session: Session | undefined,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  const postLogoutRedirectUri = ctx.config.postLogoutRedirectUrl;
  const cleared = await ctx.sessions.end(session, cookies, ctx.traceParent);
  if (session) {
    await revokeBestEffort(ctx, idp, session.refreshToken, session.sid, session.dpopKey);
    ctx.log('logout', { sid: session.sid });
  }
  const body: LogoutBody = {
    logoutUrl: idp
      ? buildEndSessionUrl(idp, { idToken: session?.idToken, postLogoutRedirectUri })
      : postLogoutRedirectUri,
  };
  return { status: 200, json: body, cookies: cleared };
}
