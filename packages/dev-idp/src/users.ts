/**
 * The embedded IdP's documented test users and the scope → claim map shared by the ID token,
 * the provider's own claim filtering and the bridged userinfo endpoint.
 *
 * > [!WARNING]
 * > These passwords are public and exist only for `pnpm dev` and tests. The dev IdP must never be
 * > reachable from anything but the developer's machine.
 */
import { generateGroupNames } from './group-names.ts';

/** Profile claims of a test user, spelled as OIDC Core spells them on the wire. */
export interface DevUserClaims {
  readonly sub: string;
  readonly name: string;
  readonly given_name: string;
  readonly family_name: string;
  readonly preferred_username: string;
  readonly email: string;
  readonly email_verified: boolean;
  readonly locale: string;
  readonly zoneinfo: string;
  readonly groups: readonly string[];
}

/** A test user: what to type in the login form, and the claims the IdP releases. */
export interface DevUser {
  readonly login: string;
  readonly password: string;
  readonly claims: DevUserClaims;
}

/** How many groups {@link MANY_GROUPS_USER} is in: enough to make every token carrying them large. */
export const MANY_GROUPS_COUNT = 300;

/**
 * A user in {@link MANY_GROUPS_COUNT} groups, as in a large directory: with the `groups` scope
 * her ID token, JWT access token and userinfo answer each carry all of them, so clients can
 * test that a big token still fits (session cookies, headers, logout URLs).
 */
export const MANY_GROUPS_USER: DevUser = Object.freeze({
  login: 'carol@example.com',
  password: 'carol-dev-password',
  claims: Object.freeze({
    sub: '00ucarol0devidp00003',
    name: 'Carol Example',
    given_name: 'Carol',
    family_name: 'Example',
    preferred_username: 'carol@example.com',
    email: 'carol@example.com',
    email_verified: true,
    locale: 'de-DE',
    zoneinfo: 'Europe/Berlin',
    groups: Object.freeze(generateGroupNames(MANY_GROUPS_COUNT)),
  }),
});

/**
 * The test users, listed on the login page. Ids follow Okta's `00u` + 17 characters shape so code
 * that logs or stores them sees realistic values.
 *
 * @see https://developer.okta.com/docs/reference/api/users/#user-object
 */
export const DEV_USERS: readonly DevUser[] = Object.freeze([
  Object.freeze({
    login: 'alice@example.com',
    password: 'alice-dev-password',
    claims: Object.freeze({
      sub: '00ualice0devidp00001',
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      preferred_username: 'alice@example.com',
      email: 'alice@example.com',
      email_verified: true,
      locale: 'en-US',
      zoneinfo: 'America/Los_Angeles',
      groups: Object.freeze(['Everyone', 'Admins']),
    }),
  }),
  Object.freeze({
    login: 'bob@example.com',
    password: 'bob-dev-password',
    claims: Object.freeze({
      sub: '00ubob00devidp000002',
      name: 'Bob Example',
      given_name: 'Bob',
      family_name: 'Example',
      preferred_username: 'bob@example.com',
      email: 'bob@example.com',
      email_verified: false,
      locale: 'en-GB',
      zoneinfo: 'Europe/London',
      groups: Object.freeze(['Everyone']),
    }),
  }),
  MANY_GROUPS_USER,
]);

/**
 * Which claims each scope releases, as in Okta's custom authorization server (`groups` is the
 * custom claim Okta admins usually add for the `groups` scope).
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims
 * @see https://developer.okta.com/docs/guides/customize-tokens-groups-claim/
 */
export const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'zoneinfo'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
});

/** The scopes the IdP supports, in the order its discovery document lists them. */
export const SUPPORTED_SCOPES = Object.freeze(['openid', 'profile', 'email', 'offline_access', 'groups']);

/** The user whose login and password match, or `undefined` (constant-time compare is not needed in dev). */
export function authenticateDevUser(
  users: readonly DevUser[],
  login: string,
  password: string,
): DevUser | undefined {
  const wanted = login.trim().toLowerCase();
  return users.find((user) => user.login.toLowerCase() === wanted && user.password === password);
}

/** The user with this `sub`, or `undefined`. */
export function findDevUser(users: readonly DevUser[], sub: string): DevUser | undefined {
  return users.find((user) => user.claims.sub === sub);
}

/** The user's claims released by `scopes` (a space-separated string or a list). */
export function claimsForScopes(user: DevUser, scopes: Iterable<string>): Record<string, unknown> {
  const released: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const claim of CLAIMS_BY_SCOPE[scope] ?? []) {
      released[claim] = user.claims[claim as keyof DevUserClaims];
    }
  }
  return released;
}
