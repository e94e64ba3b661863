import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { statusOf } from '../errors.ts';
import { errorAsResponse } from '../http/error-response.ts';
import { type RateLimiter, rateKeyOf } from '../http/rate-limit.ts';

/**
 * Refuses a request over its client address's budget before the route runs, so nothing reaches
 * the IdP: 429 with `Retry-After`, as JSON `rate_limited`, or as a small page when a browser
 * navigated here (a person reads it, not a script).
 *
 * @see RFC 6585 §4 (429 Too Many Requests), RFC 9110 §10.2.3 (Retry-After)
 */
export function rateLimit(limiter: RateLimiter): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const decision = await limiter.hit(rateKeyOf(c.var.clientAddress));
    if (decision.ok) return next();
    c.var.log.info({ code: 'rate_limited', retryAfterS: decision.retryAfterS }, 'over the per-address limit');
    const retryAfter = String(decision.retryAfterS);
    if (isNavigation(c.req.header('sec-fetch-mode'), c.req.header('accept'))) {
      return c.html(tooManyPage(decision.retryAfterS), statusOf('rate_limited'), {
        'Retry-After': retryAfter,
        'Cache-Control': 'no-store',
        'Content-Security-Policy': "default-src 'none'",
      });
    }
    return errorAsResponse(
      'rate_limited',
      `Too many requests from your address; try again in ${decision.retryAfterS} seconds.`,
      { 'retry-after': retryAfter },
    );
  };
}

/** A top-level or frame navigation (Fetch Metadata), or a request that asks for HTML. */
const isNavigation = (mode: string | undefined, accept: string | undefined) =>
  mode === 'navigate' || !!accept?.includes('text/html');

const tooManyPage = (retryAfterS: number) =>
  `<!doctype html><meta charset="utf-8"><title>Too many attempts</title>` +
  `<p>Too many sign-in attempts came from your network. Please try again in ${retryAfterS} seconds.</p>`;
