import { deviceDescriptionOr } from '../../http/user-agent.ts';
import type { Session } from '../model/session.ts';
import type { SessionStore, UserSessionSummary } from '../store/store.ts';
import { type RedisPort, redisKeys } from './redis-client.ts';
import type { RedisGuard } from './redis-guard.ts';
import type { RedisStoreKeys } from './redis-store-keys.ts';
import type { RedisRecords } from './redis-store-records.ts';

/** What a session's id in its user's list can look like (a keyed hash's base64url). */
const PUBLIC_ID = /^[\w-]{1,64}$/;

export interface RedisUserSessionsOptions {
  readonly redis: RedisPort;
  readonly keys: RedisStoreKeys;
  readonly records: RedisRecords;
  readonly guard: RedisGuard;
  /** Deletes a session's record and its index entries. */
  readonly remove: (session: Session) => Promise<void>;
  /** Tells the store's listeners which sessions this instance has just ended. */
  readonly notifyEnded: (sids: readonly string[]) => void;
  /** Epoch milliseconds. */
  readonly nowMs: () => number;
}

/** The part of the Redis store that shows a user their sessions and ends them. */
export type RedisUserSessions = Pick<SessionStore, 'listOfUser' | 'endById' | 'endOthers'>;

/**
 * A user's sessions as the user may see and end them (`GET /auth/sessions`, `DELETE
 * /auth/sessions/<id>`, `POST /auth/sessions/end-others`): found through the user's index sets,
 * the ones the back-channel logout by `sub` uses. Listing looks at the records without sliding
 * their TTLs (looking is not activity), and each session's id is a keyed hash of its own, so
 * knowing it opens nothing.
 */
export function createRedisUserSessions({
  redis,
  keys,
  records,
  guard,
  remove,
  notifyEnded,
  nowMs,
}: RedisUserSessionsOptions): RedisUserSessions {
  /**
   * The live sessions of `session`'s user: every record its user's index sets list (under every
   * secret), looked at without sliding their TTLs, that still exists, opens, is this user's and
   * has not reached its absolute end; `session` itself is always looked at. Members whose record
   * is gone (idled out, ended by an instance that did not know the index) leave the sets here.
   */
  const sessionsOfUser = async (session: Session): Promise<UserRecord[]> => {
    const indexes = keys.byUser.all(session.user.sub);
    const listed = await Promise.all(indexes.map((index) => redis.indexMembers(index)));
    const indexesOfTag = new Map<string, string[]>([[session.sid, []]]);
    listed.forEach((members, i) => {
      for (const tag of members)
        indexesOfTag.set(tag, [...(indexesOfTag.get(tag) ?? []), indexes[i] as string]);
    });
    const tags = [...indexesOfTag.keys()];
    const looks = await redis.lookRecords(
      tags.map((tag) => ({ key: redisKeys.session(tag), knownVersion: records.cached(tag)?.version ?? '' })),
    );
    const gone: Promise<void>[] = [];
    const found = await Promise.all(
      tags.map(async (tag, i): Promise<UserRecord | undefined> => {
        const look = looks[i];
        if (!look) {
          for (const index of indexesOfTag.get(tag) ?? []) gone.push(redis.indexRemove(index, tag));
          return undefined;
        }
        const cached = records.cached(tag);
        let opened: Session | undefined;
        let record = look.data === undefined ? undefined : { version: look.version, data: look.data };
        if (!record && cached?.version === look.version) opened = cached.session;
        // The cached copy was pushed out between the look and now: read the data after all.
        else if (!record) record = await redis.getData(redisKeys.session(tag));
        if (record) opened = await records.openAndCache(tag, record);
        if (!opened || opened.user.sub !== session.user.sub || opened.expiresAt * 1000 <= nowMs())
          return undefined;
        return { tag, session: opened, lastSeenMs: look.lastSeenMs, device: look.device };
      }),
    );
    await Promise.all(gone);
    return found.filter((record): record is UserRecord => record !== undefined);
  };

  /** How `record` shows in its user's list; `current` when it is the session asking. */
  const summaryOf = (record: UserRecord, current: Session): UserSessionSummary => {
    const { createdAt } = record.session;
    const nowS = Math.floor(nowMs() / 1000);
    const seenS =
      record.lastSeenMs === undefined ? record.session.lastSeenAt : Math.floor(record.lastSeenMs / 1000);
    return {
      id: keys.publicId.of(record.tag),
      createdAt,
      lastSeenAt: Math.min(nowS, Math.max(createdAt, seenS)),
      device: deviceDescriptionOr(record.device),
      current: record.tag === current.sid,
    };
  };

  return {
    listOfUser: (session, parent) =>
      guard('list', parent, async () => {
        const summaries = (await sessionsOfUser(session)).map((record) => summaryOf(record, session));
        // This browser's first, then the most recently used.
        return summaries.sort(
          (a, b) =>
            Number(b.current) - Number(a.current) || b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt,
        );
      }),

    async endById(session, id, parent) {
      // Ids are 32 characters of base64url: anything else names none of this user's sessions.
      if (!PUBLIC_ID.test(id)) return undefined;
      const record = await guard('end_by_id', parent, async () =>
        (await sessionsOfUser(session)).find((candidate) => keys.publicId.names(id, candidate.tag)),
      );
      if (!record) return undefined;
      await guard('end_by_id', parent, () => remove(record.session));
      notifyEnded([record.session.sid]);
      return record.session;
    },

    async endOthers(session, parent) {
      const others = (await guard('end_others', parent, () => sessionsOfUser(session))).filter(
        (record) => record.tag !== session.sid,
      );
      const ended: Session[] = [];
      // One bounded call per session, as in the store's `endMatching`: many sessions must not turn
      // into a 503 that leaves them all alive.
      try {
        for (const record of others) {
          await guard('end_others', parent, () => remove(record.session));
          ended.push(record.session);
        }
      } finally {
        notifyEnded(ended.map((s) => s.sid));
      }
      return ended;
    },
  };
}

/** A live session of a user, found through their index (see `sessionsOfUser`). */
interface UserRecord {
  /** The record's tag (its key's hash part), also the session's `sid`. */
  readonly tag: string;
  readonly session: Session;
  readonly lastSeenMs: number | undefined;
  readonly device: string | undefined;
}
