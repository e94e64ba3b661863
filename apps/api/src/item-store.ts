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

/** Items per owner (the access token's `sub`). Async so that a networked store fits the same shape. */
export interface ItemStore {
  /** The owner's items, oldest first; empty when the owner has none. */
  list(owner: string): Promise<readonly Item[]>;
  /**
   * Adds an item named `name` (already validated) for `owner`.
   * @throws {ApiError} `item_limit_reached` when the owner already has the maximum.
   */
  add(owner: string, name: string): Promise<Item>;
}

export interface MemoryItemStoreOptions {
  /** Bound per owner, so one caller cannot grow the process without limit. */
  maxItemsPerOwner?: number;
  /** Injected clock, for tests. */
  now?: () => Date;
}

export const DEFAULT_MAX_ITEMS_PER_OWNER = 1000;

/**
 * An {@link ItemStore} in a `Map`, lost on restart, as the tutorial's sample was.
 * Each process has its own: run one instance, or bring a shared store.
 */
export function createMemoryItemStore(options: MemoryItemStoreOptions = {}): ItemStore {
  const maxItems = options.maxItemsPerOwner ?? DEFAULT_MAX_ITEMS_PER_OWNER;
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    throw new TypeError('createMemoryItemStore: maxItemsPerOwner must be a positive integer');
  }
  const now = options.now ?? (() => new Date());
  const byOwner = new Map<string, Item[]>();

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
      return item;
    },
  };
}
