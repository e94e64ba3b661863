import { Hono } from 'hono';
import { decodeJwt } from 'jose';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';
import { sessionLoader } from '../middleware/session.ts';

function claimsOf(token: string | undefined): unknown {
  if (!token) return null;
  try {
    return decodeJwt(token);
  } catch {
    return 'not a JWT (opaque token)';
  }
}

/**
 * `GET /auth/diagnostics`, mounted only in development (`pnpm dev`): what the tutorial's
 * `/profile` page showed, so a developer can try the API with curl.
 *
 * > [!WARNING]
 * > This answers the raw access token. It must never be mounted in production; `createApp`
 * > mounts it only in development mode, which only `dev-server.ts` (`pnpm dev`) asks for.
 */
export function diagnosticsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/auth/diagnostics', sessionLoader(), (c) => {
    const session = c.var.session;
    if (!session) throw new ApiError('unauthenticated', 'Sign in first.');
    c.header('Cache-Control', 'no-store');
    return c.json({
      warning: 'Development only. Never expose tokens like this in production.',
      idTokenClaims: claimsOf(session.idToken),
      accessTokenClaims: claimsOf(session.accessToken),
      accessTokenExpiresAt: session.accessTokenExpiresAt,
      sessionExpiresAt: session.expiresAt,
      scope: session.scope ?? null,
      hasRefreshToken: session.refreshToken !== undefined,
      accessToken: session.accessToken,
    });
  });
  return app;
}
