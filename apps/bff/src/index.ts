export { createApp } from './app.ts';
export type { AppDeps, AppEnv } from './app-env.ts';
export { createLogger } from './logger.ts';
export { discoverIdp, startIdpLoader, type Idp, type IdpLoader } from './oidc/idp.ts';
export { createSessionCodec, type Session } from './session/session.ts';
export { cookieNames, readChunkedCookie } from './session/cookies.ts';
