import { createHash } from 'node:crypto';
import { RefreshError, type RefreshedTokens } from '../oidc/tokens.ts';
import type { Session } from './session.ts';

/** Refresh when the access token has less than this left (DESIGN.md: within 60 s). */
export const REFRESH_MARGIN_S = 60;
/**
 * For this long after a rotation, a request that still carries the previous cookie gets the
 * fresh result instead of redeeming the old refresh token again: Okta treats reuse past its
 * grace period as theft and revokes the whole grant.
 */
export const ROTATED_RESULT_TTL_S = 60;
const MAX_REMEMBERED_RESULTS = 10_000;

export interface FreshSession {
  readonly session: Session;
  /** True when `session` differs from the one passed in: the caller must send new cookies. */
  readonly changed: boolean;
}

/**
 * Keeps sessions' access tokens fresh, with one refresh per session at a time. An interface so a
 * Redis-backed coordinator (one refresh across instances) can replace the in-process one.
 */
export interface RefreshCoordinator {
  /**
   * The session, refreshed when its access token expires within {@link REFRESH_MARGIN_S}.
   * @throws {RefreshError} `invalid_grant` when the session cannot continue (end it),
   *   `idp_unavailable` when the token is expired and the IdP cannot be reached (keep it).
   */
  ensureFresh(session: Session): Promise<FreshSession>;
}

export interface InProcessRefreshOptions {
  /** Redeems a refresh token at the IdP. */
  readonly refresh: (refreshToken: string) => Promise<RefreshedTokens>;
  readonly now?: () => number;
}

/**
 * Single-flight refresh in this process, keyed by a hash of the session's current refresh token:
 * concurrent requests of one session share one IdP call, and a request that arrives with the
 * pre-rotation cookie shortly after reuses the result.
 */
export function createInProcessRefresh({
  refresh,
  now = () => Date.now() / 1000,
}: InProcessRefreshOptions): RefreshCoordinator {
  const inFlight = new Map<string, Promise<Session>>();
  const recent = new Map<string, { session: Session; until: number }>();

  const remember = (key: string, session: Session) => {
    if (recent.size >= MAX_REMEMBERED_RESULTS) {
      const oldest = recent.keys().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
    recent.set(key, { session, until: now() + ROTATED_RESULT_TTL_S });
  };

  const run = async (key: string, session: Session, refreshToken: string): Promise<Session> => {
    try {
      const tokens = await refresh(refreshToken);
      const next: Session = {
        ...session,
        accessToken: tokens.accessToken,
        accessTokenExpiresAt: tokens.accessTokenExpiresAt,
        refreshToken: tokens.refreshToken,
        idToken: tokens.idToken ?? session.idToken,
        scope: tokens.scope ?? session.scope,
      };
      remember(key, next);
      return next;
    } finally {
      inFlight.delete(key);
    }
  };

  return {
    async ensureFresh(session) {
      const t = now();
      if (session.accessTokenExpiresAt - t > REFRESH_MARGIN_S) return { session, changed: false };
      const stillValid = session.accessTokenExpiresAt > t;
      if (!session.refreshToken) {
        if (stillValid) return { session, changed: false };
        throw new RefreshError(
          'invalid_grant',
          'the access token expired and the session has no refresh token',
        );
      }
      const key = createHash('sha256').update(session.refreshToken).digest('base64url');
      const remembered = recent.get(key);
      if (remembered && remembered.until > t) return { session: remembered.session, changed: true };
      let pending = inFlight.get(key);
      if (!pending) {
        pending = run(key, session, session.refreshToken);
        inFlight.set(key, pending);
      }
      try {
        return { session: await pending, changed: true };
      } catch (error) {
        // The IdP is down but the token has a few seconds left: use them rather than fail.
        if (error instanceof RefreshError && error.code === 'idp_unavailable' && stillValid) {
          return { session, changed: false };
        }
        throw error;
      }
    },
  };
}
