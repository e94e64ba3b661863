import type { BffConfig } from '@okta-bff/oidc';
import { type AuthContext, REVOKE_TIMEOUT_MS } from './auth/actions.ts';
import { createRefreshSession } from './auth/refresh-session.ts';
import { createTransactionCodec } from './auth/transaction.ts';
import { describeError, eventLogger, type Logger } from './logger.ts';
import type { IdpLoader } from './oidc/idp.ts';
import { PROTOCOL_CLAIMS } from './oidc/login.ts';
import { type Metrics, NO_METRICS } from './ops/metrics.ts';
import { TRACING_OFF, type Tracing } from './ops/tracing.ts';
import { createCookieStore } from './session/cookie-store.ts';
import { COOKIE_PURPOSE, cookieNames } from './session/cookies.ts';
import { connectRedis } from './session/redis-client.ts';
import { createRedisStore } from './session/redis-store.ts';
import { createInProcessRefresh } from './session/refresh.ts';
import { createSessionCodec, type SessionCodec } from './session/session.ts';

/**
 * What the Hono app and the `/api` proxy share, built once per process: the session store (with
 * its cache), the transaction codec and the refresh coordinator (with its single-flight map).
 */
export type Services = AuthContext;

/** The operational hooks every part reports to; both off unless configured. */
export interface Ops {
  readonly metrics: Metrics;
  readonly tracing: Tracing;
}

export const OPS_OFF: Ops = { metrics: NO_METRICS, tracing: TRACING_OFF };

export function createServices(
  config: BffConfig,
  idp: IdpLoader,
  logger: Logger,
  ops: Ops = OPS_OFF,
): Services {
  const names = cookieNames(config.secureCookies);
  const log = eventLogger(logger);
  const refresh = createRefreshSession({ idp, log, metrics: ops.metrics });
  return {
    config,
    names,
    sessions:
      config.sessionStore === 'redis' && config.redisUrl
        ? createRedisStore({
            redis: connectRedis({
              url: config.redisUrl,
              cluster: config.redisCluster,
              onError: throttledWarning(logger),
            }),
            codec: sessionCodecFor(config.sessionSecrets, COOKIE_PURPOSE.redisRecord),
            names,
            secrets: config.sessionSecrets,
            idleTimeoutS: config.sessionIdleTimeoutS,
            refresh,
            // Token call, a DPoP nonce retry and the JWKS, each within IDP_TIMEOUT_MS, plus a revocation.
            lockTtlMs: 3 * config.idpTimeoutMs + REVOKE_TIMEOUT_MS + 1_000,
            ops,
          })
        : createCookieStore({
            codec: sessionCodecFor(config.sessionSecrets),
            names,
            idleTimeoutS: config.sessionIdleTimeoutS,
            maxAgeS: config.sessionMaxAgeS,
            refresher: createInProcessRefresh({ refresh }),
          }),
    transactions: createTransactionCodec(config.sessionSecrets, COOKIE_PURPOSE.transaction),
    log,
    metrics: ops.metrics,
  };
}

/** Redis connection errors: one warning per kind of error and minute, not one per retry. */
function throttledWarning(logger: Logger): (error: Error) => void {
  const last = new Map<string, number>();
  return (error) => {
    const kind = `${error.name}:${(error as { code?: string }).code ?? ''}`;
    if (Date.now() - (last.get(kind) ?? 0) < 60_000) return;
    last.set(kind, Date.now());
    logger.warn({ err: describeError(error) }, 'Redis connection problem; commands fail until it is back');
  };
}

/**
 * The session codec for `SESSION_SECRET`'s entries, with the key of `purpose` (the session cookie,
 * or Redis records), keeping the user claims once.
 */
export function sessionCodecFor(
  secrets: readonly string[],
  purpose: string = COOKIE_PURPOSE.session,
): SessionCodec {
  return createSessionCodec({
    secrets,
    purpose,
    isUserClaim: (name) => !PROTOCOL_CLAIMS.has(name),
  });
}
