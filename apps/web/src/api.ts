/**
 * The SPA's only way to talk to the network: same-origin calls to the BFF (`/auth/*`, `/api/*`).
 * The browser never holds a token; the session rides in the BFF's HttpOnly cookie.
 * I/O (`request`) is kept apart from the pure parsers (`readApiError`, `parseItem`, …) so every
 * parser can be tested with a hand-made `Response`.
 * @see docs/http-contract.md
 */
import type { AuthUserBody, ErrorCode, LogoutBody, UserClaims } from '@okta-bff/oidc/wire';
import { CSRF_HEADER, CSRF_HEADER_VALUE, ERROR_CODES } from '@okta-bff/oidc/wire';
import { isStepUpLoginUrl } from './step-up.ts';

/** Codes of {@link ApiError}: the BFF's stable codes plus two that only the browser can see. */
export type ApiErrorCode = ErrorCode | 'network_error' | 'unexpected_response';

/** The one runtime error of this module. Branch on `code`, never on `message`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  readonly code: ApiErrorCode;
  /**
   * For `step_up_required`: the BFF's `login` path, only when it is a same-origin
   * `/auth/login?…` path (see `isStepUpLoginUrl`); `undefined` otherwise.
   */
  readonly stepUpLogin: string | undefined;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown; stepUpLogin?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.stepUpLogin = options?.stepUpLogin;
  }
}

/** An entry of the sample resource API (`/api/items`). */
export interface Item {
  id: string;
  name: string;
  /** ISO 8601 timestamp. */
  createdAt: string;
}

/**
 * What `GET /auth/user` says about this browser. Times are epoch seconds of the BFF's clock; a
 * field an older BFF does not send is `null` (unknown), never a guess.
 */
export type Session =
  | {
      signedIn: true;
      user: UserClaims;
      /** The session's absolute end: nothing extends it. */
      expiresAt: number | null;
      /** When the session idles out unless an authenticated request comes first (never after `expiresAt`). */
      idleExpiresAt: number | null;
      /** How the user authenticated (the ID token's `acr`, e.g. `urn:okta:loa:2fa:any`). */
      acr: string | null;
      /** When the user authenticated (the ID token's `auth_time`). */
      authTime: number | null;
      /**
       * The BFF's clock when it answered (its `Date` header), epoch milliseconds: lets the SPA
       * read the times above on its own clock (see `session-expiry.ts`). `null` without one.
       */
      serverTime: number | null;
    }
  | { signedIn: false };

/** Options of {@link request}; `json` is serialised as the body. */
export interface RequestOptions {
  method?: string;
  json?: unknown;
  signal?: AbortSignal;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Performs a same-origin call to the BFF. Every call carries `X-CSRF: 1` (the BFF refuses
 * state-changing calls without it) and `credentials: 'same-origin'` (the session cookie, and never
 * to another origin). Resolves with any HTTP response; rejects with `network_error` when none came.
 * @throws {TypeError} for a URL that is not a same-origin relative path (a programming error).
 */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  // "//host/x" and "/\host" are protocol-relative to browsers: they would leave the origin.
  if (!path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\')) {
    throw new TypeError(`request() takes a same-origin path, got ${JSON.stringify(path)}`);
  }
  const headers: Record<string, string> = { Accept: 'application/json', [CSRF_HEADER]: CSRF_HEADER_VALUE };
  const init: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'same-origin' };
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.json);
  }
  if (options.signal) init.signal = options.signal;
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    // An abort is the caller's decision, not a network failure: let it through untouched.
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, 'network_error', 'The network request failed.', { cause });
  }
  if (response.ok && isSessionApiPath(path)) {
    for (const listener of [...apiActivityListeners]) listener();
  }
  return response;
}

const apiActivityListeners = new Set<() => void>();

/**
 * `/api/…` but not `/api/public/…`: the calls the BFF makes with the session, each of which renews
 * its idle clock. A public route may not even open the session, so it is not counted.
 */
function isSessionApiPath(path: string): boolean {
  return path.startsWith('/api/') && !path.startsWith('/api/public/');
}

/**
 * Calls `listener` after every successful (2xx) `/api` call that went through the session (not
 * `/api/public/…`): the BFF renewed the session's idle clock then. Used by the session-expiry
 * watcher; returns the unsubscribe function.
 */
export function onApiActivity(listener: () => void): () => void {
  apiActivityListeners.add(listener);
  return () => {
    apiActivityListeners.delete(listener);
  };
}

/** Fallback code when an error response has no (known) `error` field, e.g. from a proxy in between. */
function codeForStatus(status: number): ApiErrorCode {
  if (status === 400) return 'bad_request';
  // A bare 401 (say, the resource API's `WWW-Authenticate` answer) still means "sign in again".
  if (status === 401) return 'unauthenticated';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 413) return 'payload_too_large';
  if (status === 502 || status === 503) return 'upstream_unavailable';
  if (status === 504) return 'upstream_timeout';
  if (status >= 500) return 'internal_error';
  return 'unexpected_response';
}

/** Turns a non-2xx response into an {@link ApiError}, reading the `{error, message}` body when there is one. */
export async function readApiError(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (cause) {
    // Not JSON (an HTML error page from a proxy, an empty body): the status alone decides.
    return new ApiError(response.status, codeForStatus(response.status), `HTTP ${response.status}`, {
      cause,
    });
  }
  const fields = isRecord(body) ? body : {};
  const code =
    typeof fields.error === 'string' && KNOWN_CODES.has(fields.error)
      ? (fields.error as ErrorCode)
      : codeForStatus(response.status);
  const message = typeof fields.message === 'string' ? fields.message : `HTTP ${response.status}`;
  if (code === 'step_up_required' && isStepUpLoginUrl(fields.login)) {
    return new ApiError(response.status, code, message, { stepUpLogin: fields.login });
  }
  return new ApiError(response.status, code, message);
}

/** Reads a 2xx JSON body; anything else becomes an {@link ApiError}. */
async function readJson(response: Response): Promise<unknown> {
  if (!response.ok) throw await readApiError(response);
  try {
    return await response.json();
  } catch (cause) {
    throw new ApiError(response.status, 'unexpected_response', 'The response was not JSON.', { cause });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unexpected(what: string): ApiError {
  return new ApiError(200, 'unexpected_response', `Unexpected ${what}.`);
}

/** Validates one item of the resource API. */
export function parseItem(value: unknown): Item {
  if (
    !isRecord(value) ||
    typeof value.id !== 'string' ||
    typeof value.name !== 'string' ||
    typeof value.createdAt !== 'string'
  ) {
    throw unexpected('item');
  }
  return { id: value.id, name: value.name, createdAt: value.createdAt };
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Parses the answer of `GET /auth/user`: 200 → signed in, 401 → signed out, else an error. A
 * `session` field that is missing or lacks a time (an older BFF) gives `null`s, not an error.
 */
export async function parseUserResponse(response: Response): Promise<Session> {
  if (response.status === 401) return { signedIn: false };
  const body = (await readJson(response)) as AuthUserBody;
  if (!isRecord(body) || body.authenticated !== true) return { signedIn: false };
  if (!isRecord(body.user) || typeof body.user.sub !== 'string') throw unexpected('user');
  const session: Record<string, unknown> = isRecord(body.session) ? body.session : {};
  const date = response.headers.get('Date');
  return {
    signedIn: true,
    user: body.user,
    expiresAt: finiteOrNull(session.expiresAt),
    idleExpiresAt: finiteOrNull(session.idleExpiresAt),
    acr: typeof session.acr === 'string' ? session.acr : null,
    authTime: finiteOrNull(session.authTime),
    serverTime: date === null ? null : finiteOrNull(Date.parse(date)),
  };
}

/** `GET /auth/user`: who is signed in, if anyone. */
export async function getUser(signal?: AbortSignal): Promise<Session> {
  return parseUserResponse(await request('/auth/user', signal ? { signal } : {}));
}

/**
 * `POST /auth/logout`, then a full navigation to the IdP's end-session URL so that the Okta
 * session ends too, not just ours.
 * @param assign how to navigate; tests pass a spy.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 */
export async function logout(assign: (url: string) => void = (url) => location.assign(url)): Promise<void> {
  const body = (await readJson(await request('/auth/logout', { method: 'POST' }))) as LogoutBody;
  const url = isRecord(body) && typeof body.logoutUrl === 'string' ? safeUrl(body.logoutUrl) : null;
  // Never navigate to a `javascript:` (or other non-web) URL, whoever produced it.
  if (!url) throw unexpected('logout answer');
  assign(url);
}

function safeUrl(value: string): string | null {
  let url: URL;
  try {
    // A relative URL resolves against the page (`location` is absent only outside a browser).
    url = new URL(value, globalThis.location?.href);
  } catch (error) {
    // `new URL` throws a TypeError on garbage, which is simply not a URL we follow.
    if (error instanceof TypeError) return null;
    throw error;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
}

/** `GET /api/items`: the signed-in user's items. */
export async function listItems(signal?: AbortSignal): Promise<Item[]> {
  const body = await readJson(await request('/api/items', signal ? { signal } : {}));
  // The contract is a bare array; an `{ items: [...] }` envelope is accepted too, as APIs grow one.
  const list = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body.items) ? body.items : null;
  if (!list) throw unexpected('item list');
  return list.map(parseItem);
}

/** `POST /api/items` with `{ name }`: the created item (201). */
export async function addItem(name: string): Promise<Item> {
  const body = await readJson(await request('/api/items', { method: 'POST', json: { name } }));
  return parseItem(isRecord(body) && isRecord(body.item) ? body.item : body);
}

/**
 * `DELETE /api/items/<id>`: removes one of the user's items (204). The sample API asks for a
 * step-up first (a recent sign-in with a second factor): then this rejects with
 * `step_up_required` and the error's `stepUpLogin`.
 */
export async function deleteItem(id: string): Promise<void> {
  const response = await request(`/api/items/${encodeURIComponent(id)}`, { method: 'DELETE' });
  if (!response.ok) throw await readApiError(response);
}

/** An announcement of the sample API's public route (`/api/public/notices`). */
export interface PublicNotice {
  id: string;
  title: string;
  /** Plain text, rendered as text. */
  text: string;
  /** ISO 8601 timestamp. */
  publishedAt: string;
}

/** What `GET /api/public/notices` answers: the service's state and its notices, newest first. */
export interface PublicNotices {
  status: string;
  notices: PublicNotice[];
}

/** Validates the answer of `/api/public/notices`; a malformed notice is dropped, not the whole list. */
export function parsePublicNotices(body: unknown): PublicNotices {
  if (!isRecord(body) || typeof body.status !== 'string' || !Array.isArray(body.notices)) {
    throw unexpected('notices');
  }
  const notices = body.notices.flatMap((n: unknown): PublicNotice[] =>
    isRecord(n) &&
    typeof n.id === 'string' &&
    typeof n.title === 'string' &&
    typeof n.text === 'string' &&
    typeof n.publishedAt === 'string'
      ? [{ id: n.id, title: n.title, text: n.text, publishedAt: n.publishedAt }]
      : [],
  );
  return { status: body.status, notices };
}

/** `GET /api/public/notices`: public, works signed out (the BFF sends the API no token). */
export async function getPublicNotices(signal?: AbortSignal): Promise<PublicNotices> {
  return parsePublicNotices(await readJson(await request('/api/public/notices', signal ? { signal } : {})));
}

/** Site-wide counts of the sample API (`/api/stats`): nothing about any one user. */
export interface ItemStats {
  totalItems: number;
  usersWithItems: number;
}

/** `GET /api/stats`, which the BFF calls with its own (client-credentials) token. */
export async function getStats(signal?: AbortSignal): Promise<ItemStats> {
  const body = await readJson(await request('/api/stats', signal ? { signal } : {}));
  if (
    !isRecord(body) ||
    !Number.isSafeInteger(body.totalItems) ||
    !Number.isSafeInteger(body.usersWithItems)
  ) {
    throw unexpected('stats');
  }
  return { totalItems: body.totalItems as number, usersWithItems: body.usersWithItems as number };
}

/**
 * Reads a message of the live items socket (`/api/live`): the items of `{"type":"items","items":[…]}`,
 * or `undefined` for anything else (another type, not JSON, a malformed item), which is ignored.
 */
export function parseLiveMessage(data: unknown): Item[] | undefined {
  if (typeof data !== 'string') return undefined;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(message) || message.type !== 'items' || !Array.isArray(message.items)) return undefined;
  try {
    return message.items.map(parseItem);
  } catch {
    return undefined;
  }
}

/** One of the user's sessions, as the Devices page shows it (`GET /auth/sessions`). */
export interface DeviceSession {
  /** Opaque: names the session to {@link endSession}. */
  id: string;
  /** Sign-in time, epoch seconds. */
  createdAt: number;
  /** Last use, epoch seconds (to within about a minute). */
  lastSeenAt: number;
  /** A coarse description such as "Firefox on Windows". */
  device: string;
  /** This browser's own session. */
  current: boolean;
}

/** Validates the answer of `GET /auth/sessions`; a malformed entry is dropped, not the whole list. */
export function parseDeviceSessions(body: unknown): DeviceSession[] {
  if (!isRecord(body) || !Array.isArray(body.sessions)) throw unexpected('session list');
  return body.sessions.flatMap((s: unknown): DeviceSession[] =>
    isRecord(s) &&
    typeof s.id === 'string' &&
    s.id !== '' &&
    Number.isFinite(s.createdAt) &&
    Number.isFinite(s.lastSeenAt) &&
    typeof s.device === 'string' &&
    typeof s.current === 'boolean'
      ? [
          {
            id: s.id,
            createdAt: s.createdAt as number,
            lastSeenAt: s.lastSeenAt as number,
            device: s.device,
            current: s.current,
          },
        ]
      : [],
  );
}

/**
 * `GET /auth/sessions`: the user's sessions. Rejects with `not_supported` (501) where the BFF
 * keeps sessions in cookies, and `unauthenticated` (401) without a session.
 */
export async function listSessions(signal?: AbortSignal): Promise<DeviceSession[]> {
  return parseDeviceSessions(await readJson(await request('/auth/sessions', signal ? { signal } : {})));
}

/**
 * Whether this BFF offers the session list at all (anything but 501 `not_supported`), for showing
 * the Devices link. No answer (network failure) counts as no.
 */
export async function sessionsSupported(signal?: AbortSignal): Promise<boolean> {
  try {
    const response = await request('/auth/sessions', signal ? { signal } : {});
    // The body is not needed; reading it lets the connection be reused.
    await response.body?.cancel();
    return response.status !== 501;
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
}

/** Reads a 204 (or any 2xx) answer without a body; anything else becomes an {@link ApiError}. */
async function expectNoContent(response: Response): Promise<void> {
  if (!response.ok) throw await readApiError(response);
  await response.body?.cancel();
}

/**
 * `DELETE /auth/sessions/<id>`: signs that session out (204). Rejects with `not_found` when it is
 * not (or no longer) one of the user's sessions.
 */
export async function endSession(id: string): Promise<void> {
  await expectNoContent(await request(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }));
}

/** `POST /auth/sessions/end-others`: signs out every session but this browser's (204). */
export async function endOtherSessions(): Promise<void> {
  await expectNoContent(await request('/auth/sessions/end-others', { method: 'POST' }));
}
