import type { BffConfig } from '@okta-bff/oidc';
import { REVOKE_TIMEOUT_MS, revokeBestEffort } from './auth/actions.ts';
import type { ApiAdmissionContext } from './auth/api-admission.ts';
import { createClientTokens } from './auth/client-tokens.ts';
import { createRefreshTokenRedeemer } from './auth/redeem-refresh-token.ts';
import { createStepUpCodec } from './auth/step-up.ts';
import { createTransactionCodec } from './auth/transaction.ts';
import {
  createMemoryRateLimiter,
  createSharedRateLimiter,
  NO_RATE_LIMIT,
  type RateLimiter,
} from './http/rate-limit.ts';
import { describeError, eventLogger, type Logger } from './logger.ts';
import type { IdpLoader } from './oidc/idp.ts';
import { PROTOCOL_CLAIMS } from './oidc/login.ts';
import { type Metrics, NO_METRICS } from './ops/metrics.ts';
import { TRACING_OFF, type Tracing } from './ops/tracing.ts';
import { deriveKeyedHashes } from './sealing/keys.ts';
import { createSessionCodec, type SessionCodec } from './session/model/session-codec.ts';
import {
  connectRedis,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisPort,
  redisKeys,
} from './session/redis/redis-client.ts';
import { createRedisStore } from './session/redis/redis-store.ts';
import { createInProcessRefresh } from './session/refresh/in-process-refresh.ts';
import { createCookieStore } from './session/store/cookie-store.ts';
import { COOKIE_PURPOSE, cookieNames } from './session/store/cookies.ts';

/**
 * What the Hono app and the `/api` proxy share, built once per process: the session store (with
 * its cache), the transaction codec and the refresh coordinator (with its single-flight map), and
 * the per-address limit on logins and the front-channel logout.
 */
export type Services = ApiAdmissionContext & { readonly loginRateLimiter: RateLimiter };

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
  nowMs: () => number = Date.now,
): Services {
  const names = cookieNames(config.secureCookies);
  const log = eventLogger(logger);
  const nowS = () => nowMs() / 1000;
  const refresh = createRefreshTokenRedeemer({ idp, log, metrics: ops.metrics, nowS });
  const redis =
    config.sessionStore === 'redis' && config.redisUrl
      ? connectRedis({
          url: config.redisUrl,
          cluster: config.redisCluster,
          onError: throttledWarning(logger),
        })
      : undefined;
  const services: Services = {
    config,
    names,
    loginRateLimiter: loginRateLimiterFor(config, redis, logger),
    sessions: redis
      ? createRedisStore({
          redis,
          codec: sessionCodecFor(config.sessionSecrets, COOKIE_PURPOSE.redisRecord),
          names,
          secrets: config.sessionSecrets,
          idleTimeoutS: config.sessionIdleTimeoutS,
          refresh,
          // Token call, a DPoP nonce retry and the JWKS, each within IDP_TIMEOUT_MS, plus a revocation.
          lockTtlMs: 3 * config.idpTimeoutMs + REVOKE_TIMEOUT_MS + 1_000,
          ops,
          nowMs,
          // A refresh whose session was ended meanwhile (logout elsewhere) holds a refresh token
          // nobody will use: revoked, best effort. Called at run time, once `services` exists.
          revoke: (session, token, parent) =>
            revokeBestEffort(services, idp.current(), token, session.sid, session.dpopKey, parent),
        })
      : createCookieStore({
          codec: sessionCodecFor(config.sessionSecrets),
          names,
          idleTimeoutS: config.sessionIdleTimeoutS,
          maxAgeS: config.sessionMaxAgeS,
          refresher: createInProcessRefresh({ refresh, nowS }),
          nowS,
        }),
    transactions: createTransactionCodec(config.sessionSecrets, COOKIE_PURPOSE.transaction),
    log,
    metrics: ops.metrics,
    nowMs,
    clientTokens: createClientTokens({ idp, log, metrics: ops.metrics, nowMs }),
    stepUps: createStepUpCodec(config.sessionSecrets, config.secureCookies),
  };
  return services;
}

/**
 * `RATE_LIMIT_LOGIN_PER_MIN` per client address: counted in Redis when sessions live there (the
 * limit holds across instances; this instance's own counters stand in while Redis is down), in
 * this process otherwise.
 */
function loginRateLimiterFor(config: BffConfig, redis: RedisPort | undefined, logger: Logger): RateLimiter {
  const limit = config.rateLimitLoginPerMin;
  if (limit === 0) return NO_RATE_LIMIT;
  const local = createMemoryRateLimiter({ limit });
  if (!redis) return local;
  // A keyed hash: a dump of Redis does not list the addresses that signed in.
  const [keyOf] = deriveKeyedHashes(config.sessionSecrets, 'bff_rate_limit', 'okta-bff rate-limit key');
  if (!keyOf) throw new TypeError('SESSION_SECRET has no entry');
  const warn = throttledWarning(logger);
  return createSharedRateLimiter({
    limit,
    async counter(key, windowMs) {
      // Right after start-up, wait for the first connection rather than count per instance.
      await redis.firstReady(REDIS_COMMAND_TIMEOUT_MS);
      return redis.countHit(redisKeys.rateWindow(keyOf(key)), windowMs);
    },
    fallback: local,
    onError: (error) => warn(error instanceof Error ? error : new Error(String(error))),
  });
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
