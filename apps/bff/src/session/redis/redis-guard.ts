import type { Attributes, Context } from '@opentelemetry/api';
import { ApiError } from '../../errors.ts';
import type { Metrics, StoreOutcome } from '../../ops/metrics.ts';
import { inClientSpan, type Tracing } from '../../ops/tracing.ts';
import { REDIS_COMMAND_TIMEOUT_MS, type RedisPort } from './redis-client.ts';

/** One store operation (a few Redis round trips) may take this long before the request answers 503. */
const GUARD_TIMEOUT_MS = 2 * REDIS_COMMAND_TIMEOUT_MS;

/**
 * Runs store work named `operation` against Redis: fails fast when disconnected, never waits
 * longer than the bound, and reports its latency and outcome (with tracing on, a span under
 * `parent`, the trace context of the request it serves). Every failure comes out as `ApiError`
 * `session_store_unavailable` (503), except an `ApiError` the work threw itself.
 */
export type RedisGuard = <T>(
  operation: string,
  parent: Context | undefined,
  call: () => Promise<T>,
) => Promise<T>;

export interface RedisGuardOptions {
  readonly redis: RedisPort;
  readonly metrics: Metrics;
  readonly tracing: Tracing;
}

/**
 * Each operation's span name and attributes, made once rather than on every store call of every
 * request (the operations are the handful of names written in `redis-store.ts`,
 * `redis-user-sessions.ts` and `redis-refresh.ts`).
 */
const SPANS = new Map<string, { readonly name: string; readonly attributes: Attributes }>();
const spanOf = (operation: string) => {
  let span = SPANS.get(operation);
  if (!span) {
    span = {
      name: `redis ${operation}`,
      attributes: Object.freeze({ 'db.system.name': 'redis', 'db.operation.name': operation }),
    };
    SPANS.set(operation, span);
  }
  return span;
};

/**
 * The guard of one store: the client reconnects by itself, so a call made while it is down fails
 * at once rather than queueing (right after start-up it waits for the first connection instead).
 */
export function createRedisGuard({ redis, metrics, tracing }: RedisGuardOptions): RedisGuard {
  const bounded = async <T>(call: () => Promise<T>): Promise<T> => {
    if (!redis.isReady()) {
      await redis.firstReady(GUARD_TIMEOUT_MS);
      if (!redis.isReady()) throw storeUnavailable(new Error('not connected'));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(storeUnavailable(new Error('Redis did not answer in time'))),
        GUARD_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw storeUnavailable(error);
    } finally {
      clearTimeout(timer);
    }
  };

  return async <T>(operation: string, parent: Context | undefined, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    let outcome: StoreOutcome = 'error';
    try {
      const span = spanOf(operation);
      const result = await inClientSpan(tracing, parent, span.name, span.attributes, () => bounded(call));
      outcome = 'ok';
      return result;
    } finally {
      metrics.observeStore(operation, outcome, (performance.now() - start) / 1000);
    }
  };
}

function storeUnavailable(cause: unknown): ApiError {
  return new ApiError(
    'session_store_unavailable',
    'The session store is not reachable. Try again in a moment.',
    {
      cause,
    },
  );
}
