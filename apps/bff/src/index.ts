export { createApp } from './app.ts';
export type { AppDeps, AppEnv } from './app-env.ts';
export { createBffListener, createBffServer } from './http-server.ts';
export { createLogger } from './logger.ts';
export { discoverIdp, type Idp, type IdpLoader, startIdpLoader } from './oidc/idp.ts';
export { cookieNames, readChunkedCookie } from './session/cookies.ts';
export { createSessionCodec, type Session } from './session/session.ts';
