import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { UserClaims } from '@okta-bff/oidc';
import type { JWK } from 'jose';
import type { Session } from './session.ts';

/**
 * The session's plaintext, before sealing: compact, and with every value kept once.
 *
 * Okta puts the same claims in three places: the ID token, the access token (both JWTs, so
 * base64url, which a compressor cannot match against anything else) and userinfo (our `user`).
 * A user in 300 groups carries about 10 KB of group names in each. So:
 * - each JWT is kept as its header, its payload as JSON text and its signature: the group list in
 *   the access token's payload is then the same bytes as in the ID token's, and deflate's window
 *   stores the second copy as a back-reference;
 * - `user` is kept as its difference from the ID token's claims (usually nothing);
 * - the whole is deflated (raw DEFLATE, RFC 1951) before sealing.
 * Decoding rebuilds every token byte for byte (a test checks the round trip).
 *
 * Compressing before encrypting leaks the plaintext's compressibility through the cookie's length
 * (CRIME). Nothing an attacker controls is in a session next to a secret it could guess against,
 * and the length is only visible to the user's own browser.
 *
 * @see RFC 1951 (DEFLATE); RFC 7519 §3 (JWT compact form)
 */

/** Bumped when the layout changes: an older cookie then simply does not open (no session). */
const FORMAT = 2;
/** Refuses to inflate beyond this: a sealed payload is ours, but a bound costs nothing. */
const MAX_PLAINTEXT_BYTES = 1024 * 1024;

/** A JWT as `[header, payload JSON text, signature]`, or the token as it came when it is not a JWT. */
type PackedToken = string | [string, string, string];

interface Packed {
  f: number;
  sid: string;
  isid?: string;
  at: PackedToken;
  ate: number;
  rt?: string;
  it?: PackedToken;
  sc?: string;
  exp: number;
  ca: number;
  ls: number;
  /** The DPoP key (a private JWK), when the session has one. */
  dk?: Record<string, unknown>;
  /** `user` claims that differ from the ID token's (or all of them without an ID token). */
  u: Record<string, unknown>;
  /** Non-protocol ID-token claims that `user` does not have. */
  ud?: string[];
}

function packToken(token: string): PackedToken {
  const parts = token.split('.');
  if (parts.length !== 3) return token;
  const [header = '', payload = '', signature = ''] = parts;
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  // Only when the text encodes back to exactly the same characters (valid UTF-8, canonical base64url).
  if (Buffer.from(text, 'utf8').toString('base64url') !== payload) return token;
  return [header, text, signature];
}

function unpackToken(packed: PackedToken): string {
  if (typeof packed === 'string') return packed;
  return `${packed[0]}.${Buffer.from(packed[1], 'utf8').toString('base64url')}.${packed[2]}`;
}

function claimsOf(
  packed: PackedToken | undefined,
  userClaim: (name: string) => boolean,
): Record<string, unknown> {
  if (!Array.isArray(packed)) return {};
  try {
    const claims = JSON.parse(packed[1]) as unknown;
    if (typeof claims !== 'object' || claims === null) return {};
    return Object.fromEntries(Object.entries(claims).filter(([name]) => userClaim(name)));
  } catch {
    // A JWT whose payload is not JSON: nothing to share with `user`, which is then kept whole.
    return {};
  }
}

/**
 * Serialises and compresses `session`. `isUserClaim` says which ID-token claims describe the
 * user (the others, such as `nonce` or `exp`, never appear in `user`).
 */
export function encodeSession(session: Session, isUserClaim: (name: string) => boolean): Uint8Array {
  const it = session.idToken === undefined ? undefined : packToken(session.idToken);
  const fromIdToken = claimsOf(it, isUserClaim);
  const u: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(session.user)) {
    if (!(name in fromIdToken) || JSON.stringify(fromIdToken[name]) !== JSON.stringify(value))
      u[name] = value;
  }
  const ud = Object.keys(fromIdToken).filter((name) => !(name in session.user));
  const packed: Packed = {
    f: FORMAT,
    sid: session.sid,
    ...(session.idpSid === undefined ? {} : { isid: session.idpSid }),
    at: packToken(session.accessToken),
    ate: session.accessTokenExpiresAt,
    ...(session.refreshToken === undefined ? {} : { rt: session.refreshToken }),
    ...(it === undefined ? {} : { it }),
    ...(session.scope === undefined ? {} : { sc: session.scope }),
    exp: session.expiresAt,
    ca: session.createdAt,
    ls: session.lastSeenAt,
    ...(session.dpopKey === undefined ? {} : { dk: { ...session.dpopKey } }),
    u,
    ...(ud.length > 0 ? { ud } : {}),
  };
  return deflateRawSync(JSON.stringify(packed), { level: 9 });
}

/** The session in `bytes`, or `undefined` when they are not a session of this format. */
export function decodeSession(
  bytes: Uint8Array,
  isUserClaim: (name: string) => boolean,
): Session | undefined {
  let p: Packed;
  try {
    p = JSON.parse(
      inflateRawSync(bytes, { maxOutputLength: MAX_PLAINTEXT_BYTES }).toString('utf8'),
    ) as Packed;
  } catch {
    // Not deflate or not JSON: not a session we wrote (or one of an older format): no session.
    return undefined;
  }
  if (!isPacked(p)) return undefined;
  const user = { ...claimsOf(p.it, isUserClaim), ...p.u };
  for (const name of p.ud ?? []) delete user[name];
  if (typeof user.sub !== 'string') return undefined;
  return {
    sid: p.sid,
    idpSid: p.isid,
    user: user as UserClaims,
    accessToken: unpackToken(p.at),
    accessTokenExpiresAt: p.ate,
    refreshToken: p.rt,
    idToken: p.it === undefined ? undefined : unpackToken(p.it),
    scope: p.sc,
    createdAt: p.ca,
    lastSeenAt: p.ls,
    ...(p.dk === undefined ? {} : { dpopKey: Object.freeze(p.dk) as JWK }),
    expiresAt: p.exp,
  };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string';
const isToken = (v: unknown) => isString(v) || (Array.isArray(v) && v.length === 3 && v.every(isString));

/** Shape-checks an opened payload: a cookie of another release must not crash a route. */
function isPacked(p: unknown): p is Packed {
  if (typeof p !== 'object' || p === null) return false;
  const v = p as Record<string, unknown>;
  return (
    v.f === FORMAT &&
    isString(v.sid) &&
    isOptionalString(v.isid) &&
    isToken(v.at) &&
    typeof v.ate === 'number' &&
    isOptionalString(v.rt) &&
    (v.it === undefined || isToken(v.it)) &&
    isOptionalString(v.sc) &&
    typeof v.exp === 'number' &&
    typeof v.ca === 'number' &&
    typeof v.ls === 'number' &&
    (v.dk === undefined || (typeof v.dk === 'object' && v.dk !== null && !Array.isArray(v.dk))) &&
    typeof v.u === 'object' &&
    v.u !== null &&
    !Array.isArray(v.u) &&
    (v.ud === undefined || (Array.isArray(v.ud) && v.ud.every(isString)))
  );
}
