export { createApp } from './app.ts';
export type { AppDeps, AppEnv } from './app-env.ts';
export { createBffListener, createBffServer } from './http-server.ts';
export { createLogger } from './logger.ts';
export { discoverIdp, type Idp, type IdpLoader, startIdpLoader } from './oidc/idp.ts';
export type { Session } from './session/model/session.ts';
export { createSessionCodec } from './session/model/session-codec.ts';
export { cookieNames, readChunkedCookie } from './session/store/cookies.ts';
