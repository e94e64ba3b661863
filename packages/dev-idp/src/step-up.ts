/**
 * Authentication strength at the dev IdP: Okta's `acr_values`, which of them a sign-in meets,
 * and the one-time-code second factor that stands in for every stronger factor in development.
 *
 * A sign-in with the password alone is `urn:okta:loa:1fa:pwd` (`amr: ["pwd"]`). When every
 * `acr_values` value the IdP knows needs more than one factor (`urn:okta:loa:2fa:any`, `…:ifpossible`,
 * `phr`, `phrh`), the login page is followed by a one-time-code page and the sign-in is then
 * `amr: ["pwd","otp"]`, with the first requested value as `acr`. In development the code is
 * always {@link DEV_OTP_CODE}, and the page says so.
 *
 * > [!NOTE]
 * > A one-time code is not phishing-resistant: a real Okta org meets `phr`/`phrh` only with
 * > FIDO2/WebAuthn or Okta FastPass. The dev IdP lets the code stand in for them so that clients
 * > can exercise those values; what it proves is the protocol, not the factor.
 *
 * @see https://developer.okta.com/docs/guides/step-up-authentication/main/ (Okta's `acr_values`)
 * @see https://www.rfc-editor.org/rfc/rfc9470 (OAuth 2.0 Step Up Authentication Challenge)
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (`acr_values`, `max_age`)
 */
/** The `acr_values` Okta's custom authorization servers accept, as advertised in discovery. */
export const OKTA_ACR_VALUES = Object.freeze([
  'urn:okta:loa:1fa:any',
  'urn:okta:loa:1fa:pwd',
  'urn:okta:loa:2fa:any',
  'urn:okta:loa:2fa:any:ifpossible',
  'phr',
  'phrh',
] as const);
export type OktaAcrValue = (typeof OKTA_ACR_VALUES)[number];

/** `acr` of a sign-in by password alone. */
export const ACR_PASSWORD: OktaAcrValue = 'urn:okta:loa:1fa:pwd';
/** `acr` of a sign-in with a second factor when no requested value names another one. */
export const ACR_TWO_FACTOR: OktaAcrValue = 'urn:okta:loa:2fa:any';

/** `amr` (RFC 8176) of a password sign-in, and of one that added the one-time code. */
export const AMR_PASSWORD: readonly string[] = Object.freeze(['pwd']);
export const AMR_TWO_FACTOR: readonly string[] = Object.freeze(['pwd', 'otp']);

/**
 * The one-time code the dev IdP's second-factor page accepts: fixed, and shown on the page,
 * because the IdP exists only for development and tests. A real IdP would never do this.
 */
export const DEV_OTP_CODE = '123456';

/** How many factors each value needs (`1fa:any` is met by the password; every other strong value by the code). */
const FACTORS_NEEDED: Readonly<Record<OktaAcrValue, 1 | 2>> = {
  'urn:okta:loa:1fa:any': 1,
  'urn:okta:loa:1fa:pwd': 1,
  'urn:okta:loa:2fa:any': 2,
  // "If possible": every dev user has the one-time code, so it is always possible.
  'urn:okta:loa:2fa:any:ifpossible': 2,
  phr: 2,
  phrh: 2,
};

const KNOWN: ReadonlySet<string> = new Set(OKTA_ACR_VALUES);

/**
 * The values of an `acr_values` parameter the IdP knows, in the request's order. Unknown values
 * are ignored, as OpenID Connect lets an OP do (acr_values is a voluntary claim request).
 */
export function requestedAcrValues(param: unknown): OktaAcrValue[] {
  if (typeof param !== 'string') return [];
  return param.split(' ').filter((value): value is OktaAcrValue => KNOWN.has(value));
}

/**
 * The factors a sign-in needs to meet `requested`: any one value will do, so the weakest decides
 * (1 when nothing the IdP knows was asked for).
 */
export function factorsNeeded(requested: readonly OktaAcrValue[]): 1 | 2 {
  return requested.every((value) => FACTORS_NEEDED[value] === 2) && requested.length > 0 ? 2 : 1;
}

/** How many factors an `amr` shows (the code counts only after a password). */
export function factorsShown(amr: unknown): 0 | 1 | 2 {
  if (!Array.isArray(amr) || !amr.includes('pwd')) return 0;
  return amr.includes('otp') ? 2 : 1;
}

/**
 * The `acr` of a sign-in with `factors`: the first requested value it meets, else the plain
 * password or two-factor value.
 */
export function acrFor(factors: 1 | 2, requested: readonly OktaAcrValue[]): OktaAcrValue {
  return (
    requested.find((value) => FACTORS_NEEDED[value] <= factors) ??
    (factors === 2 ? ACR_TWO_FACTOR : ACR_PASSWORD)
  );
}

/** What the IdP session already is, as the interaction keeps it. */
export interface SessionAuthentication {
  readonly acr?: unknown;
  readonly amr?: unknown;
}

/**
 * What an existing IdP session lacks for `requested`: nothing; only a new `acr` label (it already
 * has the factors, e.g. a two-factor session asked for `phr`); or the second factor.
 */
export function missingForRequest(
  session: SessionAuthentication,
  requested: readonly OktaAcrValue[],
): 'nothing' | 'label' | 'second_factor' {
  if (requested.length === 0) return 'nothing';
  if (factorsShown(session.amr) < factorsNeeded(requested)) return 'second_factor';
  return requested.includes(session.acr as OktaAcrValue) ? 'nothing' : 'label';
}
