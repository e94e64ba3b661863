import type { ErrorHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';
import { errorAsResponse } from '../http/error-response.ts';
import { describeError, type Logger } from '../logger.ts';

/**
 * The Hono app's `onError`: an {@link ApiError} becomes its JSON error with its code's status
 * (the cause is logged, at `warn` for a 5xx); anything else is a bug, logged in full and answered
 * 500 `internal_error` without a word of it to the client.
 */
export function handleErrors(logger: Logger): ErrorHandler<AppEnv> {
  return function onError(error, c) {
    const log = c.get('log') ?? logger;
    if (error instanceof ApiError) {
      const level = error.status >= 500 ? 'warn' : 'info';
      log[level]({ code: error.code, cause: describeError(error.cause) }, error.message);
      return errorAsResponse(error.code, error.message);
    }
    log.error({ err: describeError(error) }, 'unhandled error');
    return errorAsResponse('internal_error', 'Something went wrong on our side.');
  };
}
