import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../app-env.ts';
import type { ApiError } from '../errors.ts';
import { CSRF_MESSAGE } from '../http/request-origin.ts';
import { createLogger } from '../logger.ts';
import { requireSameOrigin } from './csrf.ts';
import { handleErrors } from './error-handler.ts';

const ORIGIN = 'https://app.example';

/**
 * The middleware in front of a handler that counts the requests reaching it; errors become JSON
 * through the app's own `onError`, and are kept for the test to look at.
 */
function makeApp() {
  const reached: string[] = [];
  const errors: unknown[] = [];
  const app = new Hono<AppEnv>();
  app.post('/auth/logout', requireSameOrigin(ORIGIN), (c) => {
    reached.push(c.req.path);
    return c.json({ ok: true });
  });
  const onError = handleErrors(createLogger('silent'));
  app.onError((error, c) => {
    errors.push(error);
    return onError(error, c);
  });
  return { app, reached, errors };
}

const post = (app: Hono<AppEnv>, headers: Record<string, string>) =>
  app.request('/auth/logout', { method: 'POST', headers });

describe('requireSameOrigin', () => {
  it.each<[string, Record<string, string>]>([
    ['the app’s own call', { 'x-csrf': '1', origin: ORIGIN, 'sec-fetch-site': 'same-origin' }],
    ['the header alone (curl, an older browser)', { 'x-csrf': '1' }],
    ['the header name in any case', { 'X-CSRF': '1', Origin: ORIGIN }],
  ])('lets %s through to the handler', async (_, headers) => {
    const { app, reached, errors } = makeApp();
    const res = await post(app, headers);
    expect(res.status).toBe(200);
    expect(reached).toEqual(['/auth/logout']);
    expect(errors).toEqual([]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['no X-CSRF header', { origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, 'no X-CSRF header'],
    ['X-CSRF with another value', { 'x-csrf': 'yes', origin: ORIGIN }, 'no X-CSRF header'],
    [
      'a cross-site form post',
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      'no X-CSRF header',
    ],
    [
      'X-CSRF from another origin',
      { 'x-csrf': '1', origin: 'https://evil.example' },
      'Origin is not the app origin',
    ],
    ['X-CSRF from Origin: null', { 'x-csrf': '1', origin: 'null' }, 'Origin is not the app origin'],
    [
      'X-CSRF from a sibling subdomain',
      { 'x-csrf': '1', 'sec-fetch-site': 'same-site' },
      'Sec-Fetch-Site is same-site',
    ],
    [
      'X-CSRF cross-site without Origin',
      { 'x-csrf': '1', 'sec-fetch-site': 'cross-site' },
      'Sec-Fetch-Site is cross-site',
    ],
  ])('refuses %s: 403 csrf_required, the handler never runs', async (_, headers, reason) => {
    const { app, reached, errors } = makeApp();
    const res = await post(app, headers);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'csrf_required', message: CSRF_MESSAGE });
    expect(reached).toEqual([]);
    // The reason goes to the log (as the cause), never to the caller.
    expect(errors).toHaveLength(1);
    expect((errors[0] as ApiError).cause).toEqual(new Error(reason));
  });
});
