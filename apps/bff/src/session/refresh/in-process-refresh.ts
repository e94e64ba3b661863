import { createHash } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import { BoundedMap } from '../../bounded-map.ts';
import type { Session } from '../model/session.ts';
import {
  afterFailedRefresh,
  applyTokens,
  planRefresh,
  type RefreshCoordinator,
  type RefreshFunction,
  type RefreshResult,
  type SessionTokens,
  withoutRefresh,
} from './refresh.ts';

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

export interface InProcessRefreshOptions {
  readonly refresh: RefreshFunction;
  /** Epoch seconds. */
  readonly nowS?: () => number;
}

/**
 * Single-flight refresh in this process, keyed by a hash of the session's current refresh token:
 * concurrent requests of one session share one IdP call, and a request that arrives with the
 * pre-rotation cookie within {@link ROTATED_RESULT_GRACE_S} shares the result. What to do is the
 * decision table's (`refresh.ts`); this only decides who does it.
 */
export function createInProcessRefresh({
  refresh,
  nowS = () => Date.now() / 1000,
}: InProcessRefreshOptions): RefreshCoordinator {
  const inFlight = new Map<string, Promise<RefreshResult>>();
  /** Keyed by the hash of the spent refresh token: the tokens it was exchanged for, and until when. */
  const recent = new BoundedMap<string, { tokens: SessionTokens; untilS: number }>(MAX_REMEMBERED_RESULTS);

  return {
    async ensureFresh(session: Session, parent?: Context) {
      const t = nowS();
      const plan = planRefresh(session, t);
      if (plan.kind !== 'refresh') return withoutRefresh(session, plan);
      const key = createHash('sha256').update(plan.refreshToken).digest('base64url');
      const remembered = recent.get(key);
      if (remembered) {
        if (remembered.untilS > t)
          return { kind: 'fresh', session: applyTokens(session, remembered.tokens), changed: true };
        recent.delete(key);
      }
      let pending = inFlight.get(key);
      if (!pending) {
        pending = refresh({ ...session, refreshToken: plan.refreshToken }, parent).finally(() =>
          inFlight.delete(key),
        );
        inFlight.set(key, pending);
      }
      const result = await pending;
      if (!result.ok) return afterFailedRefresh(session, result, t);
      if (!recent.has(key))
        recent.set(key, { tokens: result.tokens, untilS: nowS() + ROTATED_RESULT_GRACE_S });
      return { kind: 'fresh', session: applyTokens(session, result.tokens), changed: true };
    },
  };
}
