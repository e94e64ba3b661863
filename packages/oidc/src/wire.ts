/**
 * Wire types shared by the BFF and the SPA: the JSON bodies of the BFF's HTTP contract
 * (docs/http-contract.md). Nothing here ever describes a token.
 */

/** Stable error codes of `{"error": <code>, "message": ...}` bodies. Branch on these, never on `message`. */
export const ERROR_CODES = [
  'unauthenticated',
  'csrf_required',
  'session_expired',
  'idp_unavailable',
  'upstream_unavailable',
  'upstream_timeout',
  'bad_request',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'session_store_unavailable',
  'rate_limited',
  /** A path under `/api` that no route of `API_ROUTES` covers: nothing was forwarded. */
  'no_route',
  /**
   * 401: the call needs a stronger or more recent sign-in than the session's (an upstream's
   * RFC 9470 challenge, or a route's `stepUp`); the session is untouched. The body is a
   * {@link StepUpRequiredBody}: the SPA offers to go to its `login`.
   */
  'step_up_required',
  'service_unavailable',
  'internal_error',
  /** This deployment's session store cannot do that (`GET /auth/sessions` and co. with the cookie store). */
  'not_supported',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Body of every error response of the BFF. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

/** Body of a 401 `step_up_required`: an {@link ErrorBody} with where to sign in more strongly. */
export interface StepUpRequiredBody {
  error: 'step_up_required';
  message: string;
  /**
   * Same-origin path that starts the step-up sign-in and comes back to the page the call was
   * made from: `/auth/login?stepUp=<id>&returnTo=<path>`. The SPA navigates only to a value
   * that starts with `/auth/login?`.
   */
  login: string;
}

/**
 * Codes the callback puts in `/?login_error=<code>` when a sign-in fails.
 * The SPA maps each to a sentence; it never shows text that came from the IdP.
 */
export const LOGIN_ERROR_CODES = [
  /** No (or an expired) transaction cookie: the login was not started in this browser, or took too long. */
  'login_expired',
  /** `state` missing or not the one this browser's transaction holds (CSRF, replay, or a stale tab). */
  'state_mismatch',
  /** The user, or a policy, refused the sign-in at the IdP (`error=access_denied`). */
  'access_denied',
  /** `prompt=none` and the user has no IdP session (`login_required`, `consent_required`, ...). */
  'login_required',
  /** Any other `error=` answer of the IdP, or a malformed authorization response. */
  'idp_error',
  /** The code exchange failed: refused code, bad answer, or an ID token that did not validate. */
  'token_exchange_failed',
  /** The IdP could not be reached in time. */
  'idp_unavailable',
  /**
   * The signed-in session does not fit the browser's cookies even compressed (a user in very many
   * groups): the deployment needs the server-side store, `SESSION_STORE=redis`.
   */
  'session_too_large',
  /** The session store (Redis) could not keep the new session: try again in a moment. */
  'session_store_unavailable',
  /**
   * A step-up sign-in came back without the strength asked for (the ID token's `acr` not among
   * the requested values, or its `auth_time` too old): its tokens were discarded and the
   * previous session is still active.
   */
  'step_up_failed',
  /**
   * `/auth/login?stepUp=<id>` with an id that is unknown, already used, expired or another
   * browser's: nothing was sent to the IdP. The user repeats the action to get a fresh one.
   */
  'step_up_invalid',
] as const;
export type LoginErrorCode = (typeof LOGIN_ERROR_CODES)[number];

/** Claims of the signed-in user, as the ID token and userinfo give them (never a token). */
export interface UserClaims {
  sub: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  given_name?: string;
  family_name?: string;
  locale?: string;
  zoneinfo?: string;
  groups?: string[];
  [claim: string]: unknown;
}

/** When the session ends and how the user signed in (`GET /auth/user`). Times are epoch seconds. */
export interface SessionInfo {
  /** The absolute end: no activity or refresh extends it. */
  expiresAt: number;
  /** When it idles out unless the browser makes another authenticated request first (never after `expiresAt`). */
  idleExpiresAt: number;
  /** The ID token's `acr` (how the user authenticated, e.g. `urn:okta:loa:2fa:any`), `null` when it had none. */
  acr: string | null;
  /** The ID token's `auth_time`, `null` when it had none. */
  authTime: number | null;
}

/** `GET /auth/user` */
export type AuthUserBody =
  | { authenticated: true; user: UserClaims; session: SessionInfo }
  | { authenticated: false };

/** `POST /auth/logout` */
export interface LogoutBody {
  /** The IdP's end-session URL; the SPA navigates there to end the IdP session too. */
  logoutUrl: string;
}

/** One of the signed-in user's sessions, as `GET /auth/sessions` lists it. Times are epoch seconds. */
export interface UserSessionEntry {
  /** Opaque, stable for the session; it names the session to `DELETE /auth/sessions/<id>` and opens nothing. */
  id: string;
  /** Sign-in time. */
  createdAt: number;
  /** Last use, to within about a minute. */
  lastSeenAt: number;
  /** A coarse description of the browser it was signed in from ("Firefox on Windows", "Unknown device"). */
  device: string;
  /** True for the session of the browser asking. */
  current: boolean;
}

/** `GET /auth/sessions` (`SESSION_STORE=redis`) */
export interface UserSessionsBody {
  sessions: UserSessionEntry[];
}

/** Header (and value) that every state-changing call from the SPA carries. */
export const CSRF_HEADER = 'X-CSRF';
export const CSRF_HEADER_VALUE = '1';
