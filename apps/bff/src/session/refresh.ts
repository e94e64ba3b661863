import { createHash } from 'node:crypto';
import type { Session } from './session.ts';

/** Refresh when the access token has this long or less left (docs/http-contract.md, "/api"). */
export const REFRESH_MARGIN_S = 60;
/**
 * For this long after a rotation, a request that still carries the previous cookie (sent before
 * the browser stored the new one) shares that rotation's result instead of redeeming the old
 * refresh token again. It must not exceed the IdP's own reuse leeway (Okta's default: 30 s), or
 * the BFF would accept a replay the IdP itself would refuse. After it, the old refresh token goes
 * to the IdP like any other, and a refusal ends that session.
 *
 * @see https://developer.okta.com/docs/guides/refresh-tokens/main/#refresh-token-reuse-detection
 */
export const ROTATED_RESULT_GRACE_S = 30;
/** Rotations remembered for the grace: only the new tokens, and at most this many. */
const MAX_REMEMBERED_RESULTS = 1_000;

/** The tokens a refresh yields. */
export type SessionTokens = Pick<
  Session,
  'accessToken' | 'accessTokenExpiresAt' | 'refreshToken' | 'idToken' | 'scope'
>;

/**
 * What redeeming a refresh token came to, as a tagged value (the IdP's failures are classified by
 * whoever talks to it, not here):
 * - `unavailable`: try later; the session stays.
 * - `refused`: the IdP refused the grant; `invalid_response`: its answer did not validate. Either
 *   way the session ends.
 */
export type RefreshResult =
  | { readonly ok: true; readonly tokens: SessionTokens }
  | {
      readonly ok: false;
      readonly failure: 'unavailable' | 'refused' | 'invalid_response';
      readonly cause: unknown;
      /** The IdP's `Retry-After` (seconds) when it said when to come back (429, 503). */
      readonly retryAfterS?: number;
      /** The IdP answered 429: nobody should ask it again for a while. */
      readonly rateLimited?: boolean;
    };

/** Redeems the session's refresh token at the IdP. Never throws: failures are results. */
export type RefreshFunction = (
  session: Session & { readonly refreshToken: string },
) => Promise<RefreshResult>;

/**
 * Revokes a refresh token the BFF obtained but will not keep (a refresh that finished after its
 * session was ended elsewhere), best effort and bounded in time: it never throws (a failure is
 * the implementation's to log), and an unrevoked token still expires at the IdP on its own.
 * `session` is the one the token was obtained for (its id for the log, its DPoP key).
 *
 * @see RFC 7009 §2 (token revocation)
 */
export type RevokeFunction = (session: Session, refreshToken: string) => Promise<void>;

/** What {@link RefreshCoordinator.ensureFresh} decided for a request. */
export type FreshSession =
  /** Use `session`; when `changed`, the caller must store it (new cookies). */
  | { readonly kind: 'fresh'; readonly session: Session; readonly changed: boolean }
  /** The session cannot continue: clear it, answer 401 `session_expired`. */
  | {
      readonly kind: 'ended';
      readonly reason: 'refused' | 'invalid_response' | 'no_refresh_token';
      readonly cause?: unknown;
    }
  /** The access token is expired and the IdP cannot be reached: keep the session, answer 503. */
  | { readonly kind: 'unavailable'; readonly cause: unknown; readonly retryAfterS?: number };

/**
 * Keeps sessions' access tokens fresh, with one refresh per session at a time. An interface so a
 * Redis-backed coordinator (one refresh across instances) can replace the in-process one.
 */
export interface RefreshCoordinator {
  /** The session, refreshed when its access token expires within {@link REFRESH_MARGIN_S}. */
  ensureFresh(session: Session): Promise<FreshSession>;
}

export interface InProcessRefreshOptions {
  readonly refresh: RefreshFunction;
  /** Epoch seconds. */
  readonly now?: () => number;
}

/** The session with the refreshed tokens; the rest (user, sid, absolute end) never changes. */
export function applyTokens(session: Session, tokens: SessionTokens): Session {
  return {
    ...session,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
    idToken: tokens.idToken ?? session.idToken,
    scope: tokens.scope ?? session.scope,
  };
}

/** True when `session`'s access token must be refreshed before use at `nowS`. */
export function needsRefresh(session: Session, nowS: number): boolean {
  return session.accessTokenExpiresAt - nowS <= REFRESH_MARGIN_S;
}

/**
 * Single-flight refresh in this process, keyed by a hash of the session's current refresh token:
 * concurrent requests of one session share one IdP call, and a request that arrives with the
 * pre-rotation cookie within {@link ROTATED_RESULT_GRACE_S} shares the result.
 */
export function createInProcessRefresh({
  refresh,
  now = () => Date.now() / 1000,
}: InProcessRefreshOptions): RefreshCoordinator {
  const inFlight = new Map<string, Promise<RefreshResult>>();
  /** Keyed by the hash of the spent refresh token: the tokens it was exchanged for, and until when. */
  const recent = new Map<string, { tokens: SessionTokens; until: number }>();

  const remember = (key: string, tokens: SessionTokens) => {
    const t = now();
    // Entries are in insertion order, so expired ones are at the front: sweep them, then bound.
    for (const [oldKey, entry] of recent) {
      if (entry.until > t && recent.size < MAX_REMEMBERED_RESULTS) break;
      recent.delete(oldKey);
    }
    recent.set(key, { tokens, until: t + ROTATED_RESULT_GRACE_S });
  };

  return {
    async ensureFresh(session) {
      const t = now();
      if (!needsRefresh(session, t)) return { kind: 'fresh', session, changed: false };
      const stillValid = session.accessTokenExpiresAt > t;
      const refreshToken = session.refreshToken;
      if (refreshToken === undefined) {
        return stillValid
          ? { kind: 'fresh', session, changed: false }
          : { kind: 'ended', reason: 'no_refresh_token' };
      }
      const key = createHash('sha256').update(refreshToken).digest('base64url');
      const remembered = recent.get(key);
      if (remembered) {
        if (remembered.until > t)
          return { kind: 'fresh', session: applyTokens(session, remembered.tokens), changed: true };
        recent.delete(key);
      }
      let pending = inFlight.get(key);
      if (!pending) {
        pending = refresh({ ...session, refreshToken }).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const result = await pending;
      if (result.ok) {
        const next = applyTokens(session, result.tokens);
        if (!recent.has(key)) remember(key, result.tokens);
        return { kind: 'fresh', session: next, changed: true };
      }
      if (result.failure === 'unavailable') {
        // The IdP is down but the token has a few seconds left: use them rather than fail.
        return stillValid
          ? { kind: 'fresh', session, changed: false }
          : { kind: 'unavailable', cause: result.cause, retryAfterS: result.retryAfterS };
      }
      return { kind: 'ended', reason: result.failure, cause: result.cause };
    },
  };
}
