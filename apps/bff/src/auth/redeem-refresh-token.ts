import type { Context } from '@opentelemetry/api';
import { verifyRefreshedIdToken } from '../oidc/id-token.ts';
import type { IdpLoader } from '../oidc/idp.ts';
import { classifyIdpFailure, isRateLimited, retryAfterOf } from '../oidc/idp-failure.ts';
import { redeemRefreshToken, revokeToken } from '../oidc/tokens.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { RefreshFunction } from '../session/refresh/refresh.ts';
import { REVOKE_TIMEOUT_MS } from './actions.ts';

/** Backing off after a 429 that said nothing about when to come back. */
const DEFAULT_BACKOFF_S = 5;

export interface RefreshTokenRedeemerOptions {
  readonly idp: IdpLoader;
  readonly metrics: Metrics;
  readonly log: (event: string, details: Record<string, unknown>) => void;
  /** Epoch seconds. */
  readonly nowS?: () => number;
}

/**
 * The refresh step a coordinator runs (it coordinates nothing itself): redeems the session's refresh token and classifies any
 * failure (one classification, `classifyIdpFailure`, as at login). When the answer carries an ID
 * token that does not verify or names another issuer, subject or audience (OIDC Core §12.2), the
 * refresh token it came with is revoked (best effort) and the session ends. When the IdP answers
 * 429/503 with `Retry-After`, nothing is sent to it again before that time.
 */
export function createRefreshTokenRedeemer({
  idp,
  metrics,
  log,
  nowS = () => Date.now() / 1000,
}: RefreshTokenRedeemerOptions): RefreshFunction {
  /**
   * Until when the IdP asked us to stay away (its `Retry-After` on a 429 or 503). Okta's rate
   * limits are per org and endpoint, not per user: while it lasts, no refresh is attempted at all,
   * and requests whose access token has expired answer 503 with the remaining time.
   */
  let backOffUntilS = 0;

  return async function redeemSessionRefreshToken(session, parent) {
    const waitS = Math.ceil(backOffUntilS - nowS());
    if (waitS > 0) {
      metrics.countRefresh('unavailable');
      return {
        ok: false,
        failure: 'unavailable',
        cause: new Error('the IdP asked to retry later'),
        retryAfterS: waitS,
      };
    }
    const result = await redeem(session, parent);
    if (
      !result.ok &&
      result.failure === 'unavailable' &&
      (result.rateLimited || result.retryAfterS !== undefined)
    ) {
      backOffUntilS = nowS() + (result.retryAfterS ?? DEFAULT_BACKOFF_S);
    }
    metrics.countRefresh(result.ok ? 'ok' : result.failure);
    return result;
  };

  async function redeem(
    session: Parameters<RefreshFunction>[0],
    parent: Context | undefined,
  ): ReturnType<RefreshFunction> {
    const current = idp.current();
    if (!current)
      return { ok: false, failure: 'unavailable', cause: new Error('the IdP metadata is not loaded') };
    let tokens: Awaited<ReturnType<typeof redeemRefreshToken>>;
    try {
      tokens = await redeemRefreshToken(
        current,
        session.refreshToken,
        () => Math.floor(nowS()),
        session.dpopKey,
        parent,
      );
    } catch (error) {
      return {
        ok: false,
        failure: classifyIdpFailure(error),
        cause: error,
        retryAfterS: retryAfterOf(error),
        rateLimited: isRateLimited(error),
      };
    }
    if (tokens.idToken !== undefined) {
      try {
        await verifyRefreshedIdToken(
          current,
          tokens.idToken,
          { idToken: session.idToken, sub: session.user.sub },
          nowS(),
        );
      } catch (error) {
        if (classifyIdpFailure(error) === 'unavailable') {
          // The keys could not be fetched to check it. The IdP has already rotated the refresh
          // token, so dropping this answer would strand the session on a spent one: keep the new
          // access and refresh tokens (they came over TLS from the token endpoint) and the
          // previous, verified ID token, which is only ever used as id_token_hint.
          log('refreshed_id_token_unchecked', { sid: session.sid, cause: error });
          return { ok: true, tokens: { ...tokens, idToken: undefined } };
        }
        await revokeToken(
          current,
          tokens.refreshToken ?? session.refreshToken,
          'refresh_token',
          REVOKE_TIMEOUT_MS,
          session.dpopKey,
          parent,
        ).catch((revocationError: unknown) => {
          // Best effort: the session ends either way; the token expires at the IdP on its own.
          log('revocation_failed', { sid: session.sid, cause: revocationError });
        });
        return { ok: false, failure: 'invalid_response', cause: error };
      }
    }
    return { ok: true, tokens };
  }
}
