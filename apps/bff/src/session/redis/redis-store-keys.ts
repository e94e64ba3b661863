import { BoundedMap } from '../../bounded-map.ts';
import { deriveKeyedHashes, type KeyedHash } from '../../sealing/keys.ts';
import type { Session } from '../model/session.ts';
import { redisKeys } from './redis-client.ts';

/** Recent handles whose record tags are kept in memory (as many as opened records: `redis-store-records.ts`). */
const HANDLE_CACHE_ENTRIES = 1_000;

/**
 * HKDF salt and info of each keyed hash that names Redis keys, one pair per purpose. The record's
 * pair is the one records were always named with: changing it would orphan every live session.
 */
const KEY_HASHES = {
  /** Handle → record key: a dump of Redis gives no usable cookie. */
  record: { salt: 'bff_session_handle', info: 'okta-bff redis key hash' },
  /** `sub` → the user's index: a dump does not tell who is signed in. */
  user: { salt: 'bff_session_index', info: 'okta-bff redis index hash: user' },
  /** The IdP's `sid` → that IdP session's index. */
  idpSession: { salt: 'bff_session_index', info: 'okta-bff redis index hash: idp session' },
  /** A logout token's `jti` → its claim. */
  claim: { salt: 'bff_session_index', info: 'okta-bff redis claim hash' },
  /**
   * A record's tag → the session's id in its user's list (`GET /auth/sessions`): neither the
   * handle nor the record's key, and no way back to either.
   */
  publicId: { salt: 'bff_session_public_id', info: 'okta-bff session id shown to its user' },
} as const;

/**
 * The Redis keys that name a value for one purpose: `current` for new entries (the newest
 * secret), `all` (one per distinct secret) to find entries named before a rotation.
 */
export interface KeyNames {
  readonly current: (value: string) => string;
  readonly all: (value: string) => string[];
}

/**
 * Every name the Redis store gives, each a keyed hash under `SESSION_SECRET`'s entries: the first
 * names new entries, all of them find entries named before a rotation.
 */
export interface RedisStoreKeys {
  /** A cookie's handle → its record's tag (the hash part of the record's key, also the session's `sid`). */
  readonly recordTag: {
    /** Under the current secret: the tag a new record is named with. */
    readonly current: (handle: string) => string;
    /** Under every secret, the current one first. */
    readonly all: (handle: string) => readonly string[];
  };
  /** The index sets of each user's sessions (for the back-channel logout by `sub` and the user's list). */
  readonly byUser: KeyNames;
  /** The index sets of each IdP session's sessions (for the logout channels by `sid`). */
  readonly byIdpSession: KeyNames;
  /** Logout tokens' claims, by `jti`. */
  readonly claims: KeyNames;
  /** The index sets a new session joins: its user's and its IdP session's, under the current secret. */
  readonly indexesOf: (session: Session) => string[];
  /** Every index set `session` may be in: it joined them under whichever secret was current then. */
  readonly allIndexesOf: (session: Session) => string[];
  /** A record's tag → the session's id in its user's list. */
  readonly publicId: {
    /** The id under the current secret. */
    readonly of: (tag: string) => string;
    /** Whether `id` names the record `tag` (under any secret: a list shown before a rotation still works). */
    readonly names: (id: string, tag: string) => boolean;
  };
}

/** Derives the store's keyed hashes from `SESSION_SECRET`'s entries, once per store. */
export function deriveRedisStoreKeys(secrets: readonly string[]): RedisStoreKeys {
  const hashes = (purpose: keyof typeof KEY_HASHES) =>
    deriveKeyedHashes(secrets, KEY_HASHES[purpose].salt, KEY_HASHES[purpose].info);
  const recordHashes = hashes('record');
  const byUser = keyNames(hashes('user'), redisKeys.byUser);
  const byIdpSession = keyNames(hashes('idpSession'), redisKeys.byIdpSession);
  const publicIds = hashes('publicId');
  /** Recent handles' record tags (one per secret): an HMAC per request was a tenth of the store's cost. */
  const tags = new BoundedMap<string, readonly string[]>(HANDLE_CACHE_ENTRIES);

  return {
    recordTag: {
      current: recordHashes[0] as KeyedHash,
      all: (handle) => {
        let known = tags.get(handle);
        if (!known) {
          known = recordHashes.map((hash) => hash(handle));
          tags.set(handle, known);
        }
        return known;
      },
    },
    byUser,
    byIdpSession,
    claims: keyNames(hashes('claim'), redisKeys.claim),
    indexesOf: (session) => [
      byUser.current(session.user.sub),
      ...(session.idpSid === undefined ? [] : [byIdpSession.current(session.idpSid)]),
    ],
    allIndexesOf: (session) => [
      ...byUser.all(session.user.sub),
      ...(session.idpSid === undefined ? [] : byIdpSession.all(session.idpSid)),
    ],
    publicId: {
      of: (tag) => (publicIds[0] as KeyedHash)(tag),
      names: (id, tag) => publicIds.some((hash) => hash(tag) === id),
    },
  };
}

function keyNames(hashes: readonly KeyedHash[], key: (hash: string) => string): KeyNames {
  return {
    current: (value) => key((hashes[0] as KeyedHash)(value)),
    all: (value) => [...new Set(hashes.map((hash) => key(hash(value))))],
  };
}
