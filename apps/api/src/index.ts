/**
 * `@okta-bff/api`: the sample resource API, for in-process use (the BFF's tests, `pnpm dev`).
 * `server.ts` is the program; this is the library.
 */
export {
  ACCESS_TOKEN_ALGORITHMS,
  type AccessTokenClaims,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
  grantedScopes,
  parseAuthorization,
  parseBearerAuthorization,
  type VerifyAccessToken,
} from './access-token.ts';
export { type Api, type ApiAppOptions, createApi, createApiApp } from './app.ts';
export type { ApiEnv } from './bearer-auth.ts';
export { type ApiConfig, loadApiConfig } from './config.ts';
export { DPOP_CLOCK_SKEW_S, DPOP_PROOF_ALGORITHMS, DPOP_PROOF_MAX_AGE_S } from './dpop-proof.ts';
export {
  API_ERROR_CODES,
  ApiError,
  type ApiErrorBody,
  type ApiErrorCode,
  type AuthScheme,
  type StepUpChallenge,
} from './errors.ts';
export {
  createMemoryItemStore,
  DEFAULT_MAX_LISTENERS_PER_OWNER,
  type Item,
  type ItemStats,
  type ItemStore,
  type ItemsChangedListener,
  type MemoryItemStoreOptions,
} from './item-store.ts';
export { LIVE_CLOSE, LIVE_PATH, type LiveItemsMessage } from './live.ts';
export { type EchoBody, MAX_DOWNLOAD_BYTES } from './routes/diagnostics.ts';
export {
  DEFAULT_PUBLIC_NOTICES,
  type PublicNotice,
  type PublicNoticesBody,
} from './routes/public.ts';
export { STATS_SCOPE, type StatsBody } from './routes/stats.ts';
export {
  DEFAULT_STEP_UP_POLICY,
  MULTI_FACTOR_ACR_VALUES,
  resolveStepUpPolicy,
  type StepUpPolicy,
} from './step-up.ts';
