import { randomBytes } from 'node:crypto';
import type { StepUpRequirement } from '@okta-bff/oidc';
import type { CookieToSet } from '../http/cookie-header.ts';
import { safeReturnTo } from '../oidc/return-to.ts';
import { deriveKeyRing, type KeyRing } from '../sealing/keys.ts';
import { seal, unseal } from '../sealing/seal.ts';
import type { Authentication } from '../session/model/authentication.ts';

/**
 * Step-up authentication (RFC 9470): what an API asks for when the user's sign-in is too weak or
 * too old, how the BFF remembers it until the browser signs in again, and how a sign-in is held
 * against it.
 *
 * The requirement never travels through the SPA: the BFF keeps it sealed in an HttpOnly cookie
 * of its own (bound to this browser, unreadable and unforgeable by the page), under a random id
 * that the login URL names. `GET /auth/login?stepUp=<id>` takes it only when the id is the
 * cookie's, and deletes the cookie (single use): a page cannot ask for a weaker requirement, and a
 * link from another browser names an id this browser does not hold.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9470.html
 */

/** How long a step-up may wait for the user to start the new sign-in. */
export const STEP_UP_MAX_AGE_S = 600;
/** The cookie's base name, and the salt of its key. */
export const STEP_UP_COOKIE = 'bff_stepup';
/** Clock skew allowed on `auth_time`, as on the ID token's other times. */
export const AUTH_TIME_SKEW_S = 60;
/** Bounds on what an upstream's challenge may ask for (it is remembered in a cookie). */
const MAX_ACR_VALUES = 8;
const MAX_ACR_VALUE_CHARS = 128;
const MAX_MAX_AGE_S = 400 * 24 * 60 * 60;

/** A step-up waiting for its sign-in: what is required and where to go back to. */
export interface PendingStepUp {
  readonly id: string;
  readonly requirement: StepUpRequirement;
  /** A same-origin path. */
  readonly returnTo: string;
}

/**
 * The requirement of a `401` challenge, when it is RFC 9470's `insufficient_user_authentication`
 * (in a `Bearer` or `DPoP` challenge), else `undefined`. A challenge naming neither `acr_values`
 * nor `max_age` asks for a fresh sign-in (`max_age` 0). Values out of bounds (too many or too long
 * `acr_values`, a `max_age` that is not a whole number of seconds) make it no step-up challenge:
 * the API's 401 then reaches the SPA as any 401 does.
 */
export function parseStepUpChallenge(header: string | string[] | undefined): StepUpRequirement | undefined {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (!text || !/\binsufficient_user_authentication\b/.test(text)) return undefined;
  const params = challengeParams(text);
  if (params.get('error') !== 'insufficient_user_authentication') return undefined;
  const acrText = params.get('acr_values');
  const acrValues = acrText === undefined ? [] : acrText.split(' ').filter((v) => v !== '');
  if (acrValues.length > MAX_ACR_VALUES) return undefined;
  if (acrValues.some((v) => v.length > MAX_ACR_VALUE_CHARS || !/^[\x21-\x7e]+$/.test(v))) return undefined;
  const maxAgeText = params.get('max_age');
  let maxAgeS: number | undefined;
  if (maxAgeText !== undefined) {
    if (!/^\d{1,9}$/.test(maxAgeText) || Number(maxAgeText) > MAX_MAX_AGE_S) return undefined;
    maxAgeS = Number(maxAgeText);
  }
  if (acrValues.length === 0 && maxAgeS === undefined) maxAgeS = 0;
  return { acrValues, maxAgeS };
}

/**
 * The auth-params of the first `Bearer` or `DPoP` challenge in a `WWW-Authenticate` value
 * (RFC 9110 §11.6.1: `name=token` or `name="quoted string"`, comma-separated; another challenge
 * starts where a name is not followed by `=`). oauth4webapi parses these too, but does not export
 * its parser.
 */
function challengeParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const start = /(?:^|,)\s*(?:Bearer|DPoP)(?:\s+|$)/i.exec(text);
  if (!start) return params;
  const param = /[\s,]*([A-Za-z0-9_.-]+)\s*(=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*)))?/y;
  param.lastIndex = start.index + start[0].length;
  for (let match = param.exec(text); match?.[2] !== undefined; match = param.exec(text)) {
    const name = (match[1] ?? '').toLowerCase();
    const value = match[3] === undefined ? (match[4] ?? '') : match[3].replace(/\\(.)/g, '$1');
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/**
 * Whether a sign-in meets `requirement`: its `acr` among `acrValues` (when some are named), and
 * its `auth_time` no older than `maxAgeS` (when given), with {@link AUTH_TIME_SKEW_S} of skew.
 */
export function meetsStepUp(auth: Authentication, requirement: StepUpRequirement, nowS: number): boolean {
  if (
    requirement.acrValues.length > 0 &&
    (auth.acr === undefined || !requirement.acrValues.includes(auth.acr))
  ) {
    return false;
  }
  if (requirement.maxAgeS !== undefined) {
    if (auth.authTimeS === undefined) return false;
    if (auth.authTimeS < nowS - requirement.maxAgeS - AUTH_TIME_SKEW_S) return false;
  }
  return true;
}

/** Seals a pending step-up into its cookie, and opens it at `GET /auth/login?stepUp=<id>`. */
export interface StepUpCodec {
  readonly cookieName: string;
  /** A new pending step-up, sealed into its cookie. */
  create(
    requirement: StepUpRequirement,
    returnTo: string,
    nowS: number,
  ): Promise<{ pending: PendingStepUp; cookie: CookieToSet }>;
  /** The pending step-up the browser's cookie holds, when its id is `id` and it has not expired. */
  take(
    cookies: Readonly<Record<string, string>>,
    id: string,
    nowS: number,
  ): Promise<PendingStepUp | undefined>;
  /** The deletion of the cookie (it is used once). */
  deletion(): CookieToSet;
}

export function createStepUpCodec(secrets: readonly string[], secure: boolean): StepUpCodec {
  const keys: KeyRing = deriveKeyRing(secrets, STEP_UP_COOKIE);
  const cookieName = `${secure ? '__Host-' : ''}${STEP_UP_COOKIE}`;
  const cookie = (value: string, maxAgeS: number): CookieToSet => ({
    name: cookieName,
    value,
    maxAgeS,
    sameSite: 'Lax',
    secure,
  });
  return {
    cookieName,
    async create(requirement, returnTo, nowS) {
      const pending: PendingStepUp = { id: randomBytes(16).toString('base64url'), requirement, returnTo };
      const sealed = await seal(Buffer.from(JSON.stringify(pending)), keys, nowS + STEP_UP_MAX_AGE_S);
      return { pending, cookie: cookie(sealed, STEP_UP_MAX_AGE_S) };
    },
    async take(cookies, id, nowS) {
      const value = cookies[cookieName];
      if (value === undefined || id.length > 64) return undefined;
      const bytes = await unseal(value, keys, { nowS });
      const pending = bytes && toPending(bytes);
      return pending && pending.id === id ? pending : undefined;
    },
    deletion: () => cookie('', 0),
  };
}

function toPending(bytes: Uint8Array): PendingStepUp | undefined {
  let p: { id?: unknown; requirement?: { acrValues?: unknown; maxAgeS?: unknown }; returnTo?: unknown };
  try {
    p = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof p;
  } catch {
    // Sealed by us, so only across an incompatible release: no pending step-up.
    return undefined;
  }
  const acrValues = p.requirement?.acrValues;
  const maxAgeS = p.requirement?.maxAgeS;
  if (typeof p.id !== 'string' || typeof p.returnTo !== 'string') return undefined;
  if (!Array.isArray(acrValues) || !acrValues.every((v) => typeof v === 'string')) return undefined;
  if (maxAgeS !== undefined && typeof maxAgeS !== 'number') return undefined;
  return { id: p.id, requirement: { acrValues, maxAgeS }, returnTo: p.returnTo };
}

/** Where the browser goes back to after a step-up: the same-origin path of `Referer`, else `/`. */
export function stepUpReturnTo(referer: string | undefined, publicOrigin: string): string {
  if (!referer) return '/';
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return '/';
  }
  if (url.origin !== publicOrigin) return '/';
  return safeReturnTo(`${url.pathname}${url.search}`, publicOrigin);
}

/** The message of a 401 `step_up_required`. */
export const STEP_UP_MESSAGE = 'This needs a stronger or more recent sign-in. Sign in again to continue.';

/** The `login` link of a `step_up_required` answer. */
export const stepUpLoginUrl = (pending: PendingStepUp) =>
  `/auth/login?stepUp=${encodeURIComponent(pending.id)}&returnTo=${encodeURIComponent(pending.returnTo)}`;
