import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '@opentelemetry/api';
import type { Session } from '../model/session.ts';
import {
  afterFailedRefresh,
  applyTokens,
  type FreshSession,
  needsRefresh,
  planRefresh,
  type RefreshCoordinator,
  type RefreshFunction,
  type RevokeFunction,
  withoutRefresh,
} from '../refresh/refresh.ts';
import { type RedisPort, redisKeys } from './redis-client.ts';
import type { RedisGuard } from './redis-guard.ts';

/** How often a waiting instance looks again. */
const WAIT_STEP_MS = 50;

export interface RedisRefreshOptions {
  readonly redis: RedisPort;
  /** Seals `session` for the record `tag`, bound to it (see `redis-store-records.ts`). */
  readonly sealRecord: (tag: string, session: Session) => Promise<string>;
  readonly refresh: RefreshFunction;
  /**
   * Revokes the refresh token a refresh obtained when its session was ended meanwhile (a logout
   * on another instance): nobody holds that token any more, so it must not stay valid at the IdP.
   */
  readonly revoke: RevokeFunction;
  /**
   * How long the lock is held at most: longer than one whole refresh can take (token call, a DPoP
   * nonce retry, the JWKS, a revocation), so it does not run out while its holder still works.
   * A request waits for another instance's refresh at most this long (plus a step), then answers 503.
   */
  readonly lockTtlMs: number;
  /**
   * Wraps a Redis call named `operation`: failures become `ApiError` `session_store_unavailable`;
   * its span is a child of `parent` (the request's trace context).
   */
  readonly guard: RedisGuard;
  /** The record of `tag` as it is now (version and session), or `undefined` when it was ended. */
  readonly load: (tag: string) => Promise<{ version: string; session: Session } | undefined>;
  /** Epoch milliseconds. */
  readonly nowMs: () => number;
}

/**
 * One refresh at a time per session across every instance: a lock in Redis (`SET NX PX`, released
 * only by its owner), then a re-read, since the holder before us may have refreshed already: a
 * request that waited uses the new tokens. The new record is written with a compare-and-set on its
 * version, so a holder whose lock ran out can never overwrite newer tokens. Inside one instance,
 * concurrent requests of a session share one attempt. A refresh changes Redis, never the cookie.
 * A refresh that finds its session deleted when it comes to store the new tokens (ended on another
 * instance meanwhile) revokes the refresh token it just obtained instead of dropping it.
 */
export function createRedisRefresh({
  redis,
  sealRecord,
  refresh,
  revoke,
  lockTtlMs,
  guard,
  load,
  nowMs,
}: RedisRefreshOptions): RefreshCoordinator {
  const inFlight = new Map<string, Promise<FreshSession>>();

  const attempt = async (session: Session, parent: Context | undefined): Promise<FreshSession> => {
    const tag = session.sid;
    const lockKey = redisKeys.lock(tag);
    const deadline = nowMs() + lockTtlMs + 2_000;
    while (nowMs() < deadline) {
      const owner = randomUUID();
      if (await guard('lock', parent, () => redis.setIfAbsent(lockKey, owner, lockTtlMs))) {
        try {
          const current = await guard('read', parent, () => load(tag));
          if (!current)
            return { kind: 'ended', reason: 'refused', cause: new Error('the session was ended meanwhile') };
          // The holder before us may have refreshed already: decide on the record as it is now.
          const plan = planRefresh(current.session, nowMs() / 1000);
          if (plan.kind !== 'refresh') return withoutRefresh(current.session, plan);
          const result = await refresh({ ...current.session, refreshToken: plan.refreshToken }, parent);
          if (!result.ok) {
            const decided = afterFailedRefresh(current.session, result, nowMs() / 1000);
            if (decided.kind !== 'ended') return decided;
            // Ours was refused; if another instance refreshed meanwhile (our lock ran out), its
            // tokens stand and the session goes on.
            const latest = await guard('read', parent, () => load(tag));
            if (
              latest &&
              latest.version !== current.version &&
              !needsRefresh(latest.session, nowMs() / 1000)
            ) {
              return { kind: 'fresh', session: latest.session, changed: false };
            }
            return decided;
          }
          const next = applyTokens(current.session, result.tokens);
          const sealed = await sealRecord(tag, next);
          const swapped = await guard('session', parent, () =>
            redis.swapSession(redisKeys.session(tag), current.version, sealed),
          );
          if (swapped !== undefined) return { kind: 'fresh', session: next, changed: false };
          // Someone wrote newer tokens while our lock had run out: theirs win.
          const newer = await guard('read', parent, () => load(tag));
          if (newer) return { kind: 'fresh', session: newer.session, changed: false };
          // Ended meanwhile: whoever ended it revoked the token it read, not the one we just got.
          if (next.refreshToken !== undefined) await revoke(current.session, next.refreshToken, parent);
          return { kind: 'ended', reason: 'refused', cause: new Error('the session was ended meanwhile') };
        } finally {
          await guard('unlock', parent, () => redis.releaseLock(lockKey, owner)).catch(() => {
            // The lock expires on its own within LOCK_TTL_MS; nothing else to do.
          });
        }
      }
      await sleep(WAIT_STEP_MS);
      const current = await guard('read', parent, () => load(tag));
      if (!current)
        return { kind: 'ended', reason: 'refused', cause: new Error('the session was ended meanwhile') };
      if (!needsRefresh(current.session, nowMs() / 1000))
        return { kind: 'fresh', session: current.session, changed: false };
    }
    return { kind: 'unavailable', cause: new Error('another instance held the refresh lock too long') };
  };

  return {
    async ensureFresh(session, parent) {
      if (!needsRefresh(session, nowMs() / 1000)) return { kind: 'fresh', session, changed: false };
      let pending = inFlight.get(session.sid);
      if (!pending) {
        // Traced under the first asking request: its Redis and IdP calls are that request's.
        pending = attempt(session, parent).finally(() => inFlight.delete(session.sid));
        inFlight.set(session.sid, pending);
      }
      return pending;
    },
  };
}
