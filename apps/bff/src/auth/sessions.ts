import type { ErrorBody, ErrorCode, UserSessionsBody } from '@okta-bff/oidc';
import { ApiError, statusOf } from '../errors.ts';
import type { CookieToSet } from '../http/cookie-header.ts';
import type { Idp } from '../oidc/idp.ts';
import type { Session } from '../session/model/session.ts';
import { type ActionResult, type AuthContext, revokeBestEffort } from './actions.ts';

/**
 * The signed-in user's own sessions ("Devices"), as actions from plain inputs to a description of
 * the answer, like `actions.ts`: list them, end one, end all but this one. The store does the work
 * (`SessionStore.listOfUser`, `endById`, `endOthers`: Redis only, the cookie store answers
 * `not_supported`); here each ended session's refresh token is revoked (best effort, bounded, as
 * at logout), and the store's end hook has already closed its WebSockets on this instance (the
 * others see its record gone at their next look).
 *
 * The anti-forgery rule is the route's (middleware, before any of this). An error is an
 * {@link ActionResult} with an {@link ErrorBody}, which the route writes with the one error writer.
 */

/** An error answer: its code's status and body, and the cookies to send with it. */
export function failure(
  code: ErrorCode,
  message: string,
  cookies: readonly CookieToSet[] = [],
): ActionResult {
  return { status: statusOf(code), json: { error: code, message } satisfies ErrorBody, cookies };
}

/** 401: no session opens; the session cookies that did not open are deleted. */
const signedOut = (ctx: AuthContext, cookies: Readonly<Record<string, string>>) =>
  failure('unauthenticated', 'Sign in first.', ctx.sessions.clear(cookies));

const NOT_FOUND_MESSAGE = 'You have no session with that id.';

/**
 * Runs a store call; its `not_supported` (the cookie store) becomes the 501 answer, written like
 * any error but not logged as one: the SPA asks once per page load to know whether to offer the page.
 */
async function supported<T>(
  call: () => Promise<T>,
): Promise<{ readonly ok: true; readonly value: T } | { readonly ok: false; readonly result: ActionResult }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_supported')
      return { ok: false, result: failure(error.code, error.message) };
    throw error;
  }
}

/** `GET /auth/sessions`: the user's live sessions, this browser's first (`current`). */
export async function listSessions(
  ctx: AuthContext,
  session: Session | undefined,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  if (!session) return signedOut(ctx, cookies);
  const listed = await supported(() => ctx.sessions.listOfUser(session, ctx.traceParent));
  if (!listed.ok) return listed.result;
  const body: UserSessionsBody = {
    sessions: listed.value.map(({ id, createdAt, lastSeenAt, device, current }) => ({
      id,
      createdAt,
      lastSeenAt,
      device,
      current,
    })),
  };
  return { status: 200, json: body, cookies: [] };
}

/**
 * `DELETE /auth/sessions/<id>`: ends that session of the user's, 204. Its own id is a logout: 204
 * with the session cookies deleted. An id that is not one of this user's live sessions (another
 * user's, an ended or unknown one, a malformed one): 404, and nothing ends, with no hint of whether
 * such a session exists.
 */
export async function endSession(
  ctx: AuthContext,
  idp: Idp | undefined,
  session: Session | undefined,
  id: string,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  if (!session) return signedOut(ctx, cookies);
  const found = await supported(() => ctx.sessions.endById(session, id, ctx.traceParent));
  if (!found.ok) return found.result;
  const ended = found.value;
  if (!ended) return failure('not_found', NOT_FOUND_MESSAGE);
  const current = ended.sid === session.sid;
  await revokeBestEffort(ctx, idp, ended.refreshToken, ended.sid, ended.dpopKey);
  ctx.log(
    current ? 'logout' : 'session_ended_by_user',
    current ? { sid: ended.sid } : { sid: ended.sid, by: session.sid },
  );
  return { status: 204, cookies: current ? ctx.sessions.clear(cookies) : [] };
}

/** `POST /auth/sessions/end-others`: ends every other session of the user's, 204 (also when there was none). */
export async function endOtherSessions(
  ctx: AuthContext,
  idp: Idp | undefined,
  session: Session | undefined,
  cookies: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  if (!session) return signedOut(ctx, cookies);
  const found = await supported(() => ctx.sessions.endOthers(session, ctx.traceParent));
  if (!found.ok) return found.result;
  const ended = found.value;
  await Promise.all(
    ended.map((other) => revokeBestEffort(ctx, idp, other.refreshToken, other.sid, other.dpopKey)),
  );
  ctx.log('sessions_ended_by_user', { by: session.sid, ended: ended.length });
  return { status: 204, cookies: [] };
}
