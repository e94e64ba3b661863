import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { ActionResult } from '../auth/actions.ts';
import { type CookieToSet, serializeCookie } from '../http/cookie-header.ts';

/** Appends one `Set-Cookie` header per cookie. */
export function setCookies(c: Context<AppEnv>, cookies: readonly CookieToSet[]): void {
  for (const cookie of cookies) c.header('Set-Cookie', serializeCookie(cookie), { append: true });
}

/** Turns an action's description into the HTTP response. */
export function respond(c: Context<AppEnv>, result: ActionResult): Response {
  setCookies(c, result.cookies);
  if (result.redirect !== undefined) return c.redirect(result.redirect, 302);
  return c.json(result.json ?? null, result.status as 200);
}
