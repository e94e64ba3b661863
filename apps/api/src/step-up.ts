/**
 * Step-up authentication for sensitive routes (RFC 9470): a route can demand that the user signed
 * in with a second factor (the access token's `acr`), and did so recently (its `auth_time`). A
 * token that falls short is answered 401 with an `insufficient_user_authentication` challenge
 * naming what would do, so the client can send the user to sign in again with those
 * `acr_values` and `max_age` and retry with the new token. Only values in, a decision or an
 * `ApiError` out, so every rule is tested without HTTP.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-3 (the challenge)
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2.1 (`acr`, `auth_time` in JWT access tokens)
 * @see https://developer.okta.com/docs/guides/step-up-authentication/main/ (Okta's `acr_values`)
 */
import type { MiddlewareHandler } from 'hono';
import type { AccessTokenClaims } from './access-token.ts';
import type { ApiEnv } from './bearer-auth.ts';
import { ApiError, type AuthScheme } from './errors.ts';

/**
 * `acr` values that prove a second factor: Okta's two-factor class and its phishing-resistant
 * ones. `urn:okta:loa:2fa:any:ifpossible` is not among them: Okta satisfies it with one factor
 * for a user who has enrolled no other.
 */
export const MULTI_FACTOR_ACR_VALUES: readonly string[] = Object.freeze([
  'urn:okta:loa:2fa:any',
  'phr',
  'phrh',
]);

/** What a step-up route demands. */
export interface StepUpPolicy {
  /** `acr` values accepted (any one of them). Default {@link MULTI_FACTOR_ACR_VALUES}. */
  readonly acceptedAcrValues: readonly string[];
  /**
   * What the challenge asks the client to request, in order of preference (`acr_values`): each
   * must be accepted. Default `["urn:okta:loa:2fa:any"]`.
   */
  readonly challengeAcrValues: readonly string[];
  /** The user's authentication may be at most this old, in seconds (`max_age`). Default 300. */
  readonly maxAgeS: number;
}

export const DEFAULT_STEP_UP_POLICY: StepUpPolicy = Object.freeze({
  acceptedAcrValues: MULTI_FACTOR_ACR_VALUES,
  challengeAcrValues: Object.freeze(['urn:okta:loa:2fa:any']),
  maxAgeS: 300,
});

/** An `acr` value as RFC 6749 §3.3 spells a scope token: it goes inside a quoted-string unescaped. */
const ACR_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Fills in the defaults and checks the policy: a programmer error (an empty list, a challenge value
 * the policy would not accept, a value that cannot be put in the header) throws at start.
 */
export function resolveStepUpPolicy(options: Partial<StepUpPolicy> = {}): StepUpPolicy {
  const policy: StepUpPolicy = {
    acceptedAcrValues: Object.freeze([
      ...(options.acceptedAcrValues ?? DEFAULT_STEP_UP_POLICY.acceptedAcrValues),
    ]),
    challengeAcrValues: Object.freeze([
      ...(options.challengeAcrValues ?? DEFAULT_STEP_UP_POLICY.challengeAcrValues),
    ]),
    maxAgeS: options.maxAgeS ?? DEFAULT_STEP_UP_POLICY.maxAgeS,
  };
  const problems: string[] = [];
  if (policy.acceptedAcrValues.length === 0 || !policy.acceptedAcrValues.every((v) => ACR_TOKEN.test(v))) {
    problems.push('acceptedAcrValues must be a non-empty list of acr values');
  }
  if (
    policy.challengeAcrValues.length === 0 ||
    !policy.challengeAcrValues.every((v) => ACR_TOKEN.test(v) && policy.acceptedAcrValues.includes(v))
  ) {
    problems.push('challengeAcrValues must be a non-empty list of accepted acr values');
  }
  if (!Number.isSafeInteger(policy.maxAgeS) || policy.maxAgeS < 0) {
    problems.push('maxAgeS must be a whole number of seconds, 0 or more');
  }
  if (problems.length) throw new TypeError(`step-up policy: ${problems.join('; ')}`);
  return Object.freeze(policy);
}

/** Why a token does not meet a policy; `undefined` when it does. */
export type StepUpShortfall = 'acr' | 'auth_time' | undefined;

/**
 * Checks a verified token's `acr` and `auth_time` against `policy` at `nowS` (epoch seconds).
 * A missing or malformed claim never meets it; an `auth_time` in the future by more than the
 * clock tolerance does not either (a clock that far off proves no recent sign-in).
 */
export function stepUpShortfall(
  claims: Pick<AccessTokenClaims, 'acr' | 'auth_time'>,
  policy: StepUpPolicy,
  nowS: number,
  clockToleranceS = 5,
): StepUpShortfall {
  const { acr, auth_time: authTime } = claims;
  if (typeof acr !== 'string' || !policy.acceptedAcrValues.includes(acr)) return 'acr';
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return 'auth_time';
  if (nowS - authTime > policy.maxAgeS || authTime - nowS > clockToleranceS) return 'auth_time';
  return undefined;
}

const SHORTFALL_MESSAGES: Readonly<Record<Exclude<StepUpShortfall, undefined>, string>> = {
  acr: 'A different authentication level is required',
  auth_time: 'More recent authentication is required',
};

/**
 * The refusal of a token that falls short: 401 `insufficient_user_authentication`, whose challenge
 * (in the scheme the token came in) names the policy's `acr_values` and `max_age`.
 */
export function stepUpRequired(
  shortfall: Exclude<StepUpShortfall, undefined>,
  policy: StepUpPolicy,
  scheme: AuthScheme,
): ApiError {
  return new ApiError('insufficient_user_authentication', 401, SHORTFALL_MESSAGES[shortfall], {
    scheme,
    stepUp: { acrValues: policy.challengeAcrValues, maxAgeS: policy.maxAgeS },
  });
}

/**
 * Lets a request through only when its verified token meets `policy`; mount after `bearerAuth`.
 *
 * @throws {ApiError} 401 `insufficient_user_authentication` (see {@link stepUpRequired}).
 */
export function requireStepUp(
  policy: StepUpPolicy,
  { now = Date.now, clockToleranceS }: { now?: () => number; clockToleranceS?: number } = {},
): MiddlewareHandler<ApiEnv> {
  return async function requireStepUpMiddleware(c, next) {
    const shortfall = stepUpShortfall(c.var.claims, policy, Math.floor(now() / 1000), clockToleranceS);
    if (shortfall) throw stepUpRequired(shortfall, policy, c.var.authScheme);
    await next();
  };
}
