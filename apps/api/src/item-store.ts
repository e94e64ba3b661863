/**
 * Where items live: an interface small enough that a shared store (Redis, a database) can replace
 * the in-memory one without touching the routes.
 */
import { ApiError } from './errors.ts';

/** One item, as `GET /items` and `POST /items` answer it. */
export interface Item {
  id: string;
  name: string;
  /** ISO 8601 timestamp. */
  createdAt: string;
}

/** Site-wide counts, as `GET /stats` answers them: nothing about any one owner. */
export interface ItemStats {
  /** Items of all owners together. */
  totalItems: number;
  /** Owners with at least one item. */
  usersWithItems: number;
}

/** Told that an owner's items changed; it reads them itself (a networked store would only publish a signal). */
export type ItemsChangedListener = () => void;

/** Items per owner (the access token's `sub`). Async so that a networked store fits the same shape. */
export interface ItemStore {
  /** The owner's items, oldest first; empty when the owner has none. */
  list(owner: string): Promise<readonly Item[]>;
  /**
   * Adds an item named `name` (already validated) for `owner`, then tells the owner's listeners.
   * @throws {ApiError} `item_limit_reached` when the owner already has the maximum.
   */
  add(owner: string, name: string): Promise<Item>;
  /**
   * Removes `owner`'s item `id`, then tells the owner's listeners. Resolves `false`, changing
   * nothing and telling no one, when `owner` has no such item (another owner's id included).
   */
  remove(owner: string, id: string): Promise<boolean>;
  /** Counts over all owners. */
  stats(): Promise<ItemStats>;
  /**
   * Calls `listener` after each change of `owner`'s items, until the returned function is called.
   * Returns `undefined`, registering nothing, when `owner` already has the maximum of listeners
   * (one per open `/live` socket): the bound that keeps one user from holding unlimited sockets.
   */
  subscribe(owner: string, listener: ItemsChangedListener): (() => void) | undefined;
}

export interface MemoryItemStoreOptions {
  /** Bound per owner, so one caller cannot grow the process without limit. */
  maxItemsPerOwner?: number;
  /** Listeners (open `/live` sockets) per owner; default {@link DEFAULT_MAX_LISTENERS_PER_OWNER}. */
  maxListenersPerOwner?: number;
  /** Injected clock, for tests. */
  now?: () => Date;
}

export const DEFAULT_MAX_ITEMS_PER_OWNER = 1000;
/** A user with a few tabs on a few devices stays far below this. */
export const DEFAULT_MAX_LISTENERS_PER_OWNER = 20;

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`createMemoryItemStore: ${name} must be a positive integer`);
  }
  return value;
}

/**
 * An {@link ItemStore} in a `Map`, lost on restart, as the tutorial's sample was.
 * Each process has its own (items and listeners): run one instance, or bring a shared store.
 */
export function createMemoryItemStore(options: MemoryItemStoreOptions = {}): ItemStore {
  const maxItems = positiveInteger(
    options.maxItemsPerOwner ?? DEFAULT_MAX_ITEMS_PER_OWNER,
    'maxItemsPerOwner',
  );
  const maxListeners = positiveInteger(
    options.maxListenersPerOwner ?? DEFAULT_MAX_LISTENERS_PER_OWNER,
    'maxListenersPerOwner',
  );
  const now = options.now ?? (() => new Date());
  const byOwner = new Map<string, Item[]>();
  const listenersByOwner = new Map<string, Set<ItemsChangedListener>>();
  let totalItems = 0;

  function notify(owner: string): void {
    // A copy: a listener may unsubscribe (close its socket) while being told.
    for (const listener of [...(listenersByOwner.get(owner) ?? [])]) listener();
  }

  return {
    async list(owner) {
      // A copy, so a caller cannot change the store by editing what it got.
      return [...(byOwner.get(owner) ?? [])];
    },
    async add(owner, name) {
      const items = byOwner.get(owner) ?? [];
      if (items.length >= maxItems) {
        throw new ApiError('item_limit_reached', 400, `You can keep at most ${maxItems} items`);
      }
      const item: Item = Object.freeze({ id: crypto.randomUUID(), name, createdAt: now().toISOString() });
      items.push(item);
      byOwner.set(owner, items);
      totalItems += 1;
      notify(owner);
      return item;
    },
    async remove(owner, id) {
      const items = byOwner.get(owner);
      const index = items?.findIndex((item) => item.id === id) ?? -1;
      if (!items || index < 0) return false;
      items.splice(index, 1);
      // Drop the empty list, so `usersWithItems` counts owners who still have items.
      if (items.length === 0) byOwner.delete(owner);
      totalItems -= 1;
      notify(owner);
      return true;
    },
    async stats() {
      return { totalItems, usersWithItems: byOwner.size };
    },
    subscribe(owner, listener) {
      const listeners = listenersByOwner.get(owner) ?? new Set<ItemsChangedListener>();
      if (listeners.size >= maxListeners) return undefined;
      // Wrapped, so the same function subscribed twice is two listeners with two unsubscribes.
      const entry: ItemsChangedListener = () => listener();
      listeners.add(entry);
      listenersByOwner.set(owner, listeners);
      let subscribed = true;
      return function unsubscribe() {
        if (!subscribed) return;
        subscribed = false;
        listeners.delete(entry);
        // Drop the empty set, so owners who come and go leave nothing behind.
        if (listeners.size === 0 && listenersByOwner.get(owner) === listeners) listenersByOwner.delete(owner);
      };
    },
  };
}
