/**
 * Turns the user's claims into rows for the profile table. The BFF never sends a token, but this
 * page must not become the place that shows one if that ever changes: token-named claims and
 * JWT-shaped values are dropped here, defence in depth.
 */
import type { UserClaims } from '@okta-bff/oidc/wire';

/** One row of the profile table. */
export interface ClaimRow {
  claim: string;
  value: string;
}

/**
 * JWS/JWE compact serialisation: base64url segments joined by dots, the first being a JSON
 * header, whose encoding always starts with `eyJ` (`{"`). Anchoring on it avoids hiding
 * dotted values such as host names.
 */
const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]*\.[\w-]*(\.[\w-]*\.[\w-]*)?$/;
/** `access_token`, `id_token`, `refresh_token`, `token`, `accessToken`, … */
const TOKEN_NAME = /token/i;

/** Whether a value looks like a JWT, so it is never rendered. */
export function looksLikeToken(value: string): boolean {
  return JWT_SHAPE.test(value.trim());
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatValue).join(', ');
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows of `claims`, in their order, with arrays joined and token-like entries left out. */
export function claimRows(claims: UserClaims): ClaimRow[] {
  const rows: ClaimRow[] = [];
  for (const [claim, raw] of Object.entries(claims)) {
    if (TOKEN_NAME.test(claim)) continue;
    const value = formatValue(raw);
    if (looksLikeToken(value) || value.split(', ').some(looksLikeToken)) continue;
    rows.push({ claim, value });
  }
  return rows;
}

/** A readable name for the greeting: `name`, else `given_name`, `preferred_username`, `email`, `sub`. */
export function displayName(claims: UserClaims): string {
  for (const candidate of [claims.name, claims.given_name, claims.preferred_username, claims.email]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate;
  }
  return claims.sub;
}

/** `acr` values said in plain words; the Okta ones this app's sign-ins come back with. */
const ACR_WORDS: ReadonlyMap<string, string> = new Map([
  ['urn:okta:loa:2fa:any', 'with a second factor'],
  // Phishing-resistant, and phishing-resistant and hardware-protected: two factors, at least.
  ['phr', 'with a second factor'],
  ['phrh', 'with a second factor'],
  ['urn:okta:loa:1fa:pwd', 'with a password'],
]);

/**
 * How the user signed in, from the session's `acr`: a known value in plain words ("with a second
 * factor"), any other as it came (the caller shows it as a value), `null` when there was none.
 */
export function describeAcr(acr: string | null): { words: string } | { raw: string } | null {
  if (acr === null || acr === '') return null;
  const words = ACR_WORDS.get(acr);
  return words === undefined ? { raw: acr } : { words };
}
