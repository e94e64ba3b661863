/**
 * `@okta-bff/dev-idp`: an embedded OpenID provider shaped like Okta's custom authorization
 * server, for `pnpm dev` and tests. Never used in production.
 *
 * @see docs/architecture.md, "The other apps and packages"
 */
export { CUSTOM_SCOPES } from './client-credentials.ts';
export { CLIENT_ASSERTION_AUDIENCE_ERROR } from './client-security.ts';
export {
  createDevClient,
  createDevClientFor,
  createPostSecretDevClient,
  createPostSecretDevClientFor,
  createSecureDevClient,
  createSecureDevClientFor,
  DEV_POST_CLIENT_ID,
  DEV_POST_CLIENT_SECRET,
  DEV_SECURE_CLIENT_ID,
  type DevClientUris,
  type SecureDevClientOptions,
} from './dev-clients.ts';
export { type DevIdp, type DevIdpOptions, startDevIdp } from './dev-idp.ts';
export type {
  BackchannelLogoutRecord,
  ClientAssertionRecord,
  ClientAuthenticationRecord,
  DevIdpEndpoint,
  DevIdpEvents,
  DpopProofRecord,
  EndSessionRecord,
  FrontchannelLogoutRecord,
  LoginRecord,
  PushedAuthorizationRequestRecord,
  RevocationRecord,
  TokenErrorRecord,
  TokenGrantRecord,
} from './events.ts';
export { BACKCHANNEL_LOGOUT_EVENT, type SignLogoutToken } from './logout-token.ts';
export { OKTA_ROUTES } from './provider-config.ts';
export {
  ACR_PASSWORD,
  ACR_TWO_FACTOR,
  AMR_PASSWORD,
  AMR_TWO_FACTOR,
  DEV_OTP_CODE,
  OKTA_ACR_VALUES,
  type OktaAcrValue,
} from './step-up.ts';
export {
  CLAIMS_BY_SCOPE,
  DEV_USERS,
  type DevUser,
  type DevUserClaims,
  MANY_GROUPS_COUNT,
  MANY_GROUPS_USER,
  SUPPORTED_SCOPES,
} from './users.ts';
