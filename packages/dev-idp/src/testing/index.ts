/**
 * Test helpers for clients of the dev IdP (the BFF's integration tests): a cookie jar for fetch,
 * and drivers that play the browser at the IdP's login and logout.
 */
export { CookieJar } from './cookie-jar.ts';
export {
  type CallbackRequest,
  type DriveIdpLoginOptions,
  driveIdpLogin,
  driveIdpLogout,
  IdpLoginError,
  type IdpLogoutResult,
  parseFrontchannelLogoutPage,
} from './drive-idp-login.ts';
