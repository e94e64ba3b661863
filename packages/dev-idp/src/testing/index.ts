/**
 * Test helpers for clients of the dev IdP (the BFF's integration tests): a cookie jar for fetch,
 * and drivers that play the browser at the IdP's login (password, and the one-time code of a
 * step-up: {@link DEV_OTP_CODE}) and logout; and the table of DPoP proof
 * cases that both DPoP verifiers (the sample API's and the dev IdP's userinfo) are tested against.
 */
export { CookieJar } from './cookie-jar.ts';
export {
  createDpopCaseKeys,
  DPOP_CASE_NOW_MS,
  DPOP_PROOF_CASES,
  type DpopCaseKeys,
  type DpopCaseOutcome,
  type DpopCaseRequest,
  type DpopProofCase,
} from './dpop-proof-cases.ts';
export {
  type CallbackRequest,
  DEV_OTP_CODE,
  type DriveIdpLoginOptions,
  driveIdpLogin,
  driveIdpLogout,
  IdpLoginError,
  type IdpLogoutResult,
  parseFrontchannelLogoutPage,
} from './drive-idp-login.ts';
