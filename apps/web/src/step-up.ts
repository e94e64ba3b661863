/**
 * Step-up on the SPA's side: a call the BFF answers 401 `step_up_required` carries a `login`
 * path; the user is told in our own words what is needed and may go there (a full navigation:
 * the BFF sends the browser on to the IdP, then back to the page the call was made from).
 *
 * Only a same-origin `/auth/login?…` path is ever followed: the value comes over the network,
 * and a navigation to anything else (another origin, `javascript:`) would be the BFF's bug
 * turned into ours.
 *
 * An item the user was deleting is remembered in `sessionStorage` (this tab, for
 * {@link PENDING_DELETE_TTL_MS}), so that back on the items page the app can offer to delete it
 * now; it is never deleted without another click.
 */

/** The prefix every step-up `login` must have: the BFF's login route with a query. */
export const STEP_UP_LOGIN_PREFIX = '/auth/login?';

/**
 * Whether `value` is a login path the SPA may navigate to: it starts with `/auth/login?` and,
 * resolved against the page, stays on the page's origin at exactly `/auth/login`.
 */
export function isStepUpLoginUrl(
  value: unknown,
  origin = globalThis.location?.origin ?? 'http://localhost',
): value is string {
  if (typeof value !== 'string' || !value.startsWith(STEP_UP_LOGIN_PREFIX)) return false;
  // Anything a URL parser would read differently from how it looks (control characters, `\`).
  if ([...value].some((char) => char <= '\u001f' || char === '\u007f' || char === '\\')) return false;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return false;
  }
  return url.origin === new URL(origin).origin && url.pathname === '/auth/login';
}

/** What each action that can need a step-up says; the user sees this, never the BFF's message. */
export const STEP_UP_MESSAGES = {
  deleteItem: 'Deleting an item needs a fresh sign-in with a second factor.',
  generic: 'This needs a fresh sign-in with a second factor.',
} as const;

/** Where the pending delete is kept (this tab only). */
export const PENDING_DELETE_KEY = 'okta-bff.pending-delete';
/** A pending delete older than this is forgotten: the sign-in it waited for is long over. */
export const PENDING_DELETE_TTL_MS = 10 * 60 * 1000;

/** An item the user asked to delete before being sent to sign in again. */
export interface PendingDelete {
  id: string;
  name: string;
  /** Epoch milliseconds when it was remembered. */
  at: number;
}

/** The part of `Storage` used here; tests pass a fake. */
export type PendingStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function sessionStore(): PendingStorage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    // Storage disabled (privacy settings): the retry offer is a nicety, not a requirement.
    return undefined;
  }
}

/** Remembers the item whose deletion waits for the step-up. Storage failures are ignored. */
export function rememberPendingDelete(
  item: { id: string; name: string },
  storage = sessionStore(),
  now = Date.now(),
): void {
  try {
    storage?.setItem(PENDING_DELETE_KEY, JSON.stringify({ id: item.id, name: item.name, at: now }));
  } catch {
    // Quota or disabled storage: nothing to offer later, which is fine.
  }
}

/** The remembered delete, if there is a valid, recent one (anything else is dropped). */
export function readPendingDelete(storage = sessionStore(), now = Date.now()): PendingDelete | undefined {
  let raw: string | null | undefined;
  try {
    raw = storage?.getItem(PENDING_DELETE_KEY);
  } catch {
    return undefined;
  }
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const pending = value as Partial<PendingDelete> | undefined;
  if (
    typeof pending?.id === 'string' &&
    typeof pending.name === 'string' &&
    typeof pending.at === 'number' &&
    now - pending.at >= 0 &&
    now - pending.at <= PENDING_DELETE_TTL_MS
  ) {
    return { id: pending.id, name: pending.name, at: pending.at };
  }
  clearPendingDelete(storage);
  return undefined;
}

/** Forgets the remembered delete. */
export function clearPendingDelete(storage = sessionStore()): void {
  try {
    storage?.removeItem(PENDING_DELETE_KEY);
  } catch {
    // Nothing to clean up then.
  }
}
