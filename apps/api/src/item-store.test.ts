import { describe, expect, it, vi } from 'vitest';
import { createMemoryItemStore, DEFAULT_MAX_LISTENERS_PER_OWNER } from './item-store.ts';

describe('createMemoryItemStore: change listeners', () => {
  it("tells only the owner's listeners, after the item is stored", async () => {
    const store = createMemoryItemStore();
    const seen: number[] = [];
    const alice = vi.fn(() => {
      void store.list('alice').then((items) => seen.push(items.length));
    });
    const bob = vi.fn();
    store.subscribe('alice', alice);
    store.subscribe('bob', bob);
    await store.add('alice', 'one');
    await store.add('alice', 'two');
    expect(alice).toHaveBeenCalledTimes(2);
    expect(bob).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(seen).toEqual([1, 2]));
  });

  it('stops telling a listener once unsubscribed; unsubscribing twice is harmless', async () => {
    const store = createMemoryItemStore();
    const listener = vi.fn();
    const unsubscribe = store.subscribe('alice', listener);
    unsubscribe?.();
    unsubscribe?.();
    await store.add('alice', 'one');
    expect(listener).not.toHaveBeenCalled();
  });

  it('does not tell anyone about a refused add', async () => {
    const store = createMemoryItemStore({ maxItemsPerOwner: 1 });
    await store.add('alice', 'one');
    const listener = vi.fn();
    store.subscribe('alice', listener);
    await expect(store.add('alice', 'two')).rejects.toMatchObject({ code: 'item_limit_reached' });
    expect(listener).not.toHaveBeenCalled();
  });

  it(`refuses a listener past ${DEFAULT_MAX_LISTENERS_PER_OWNER} per owner, and takes one again after an unsubscribe`, () => {
    const store = createMemoryItemStore();
    const unsubscribes = Array.from({ length: DEFAULT_MAX_LISTENERS_PER_OWNER }, () =>
      store.subscribe('alice', () => {}),
    );
    expect(unsubscribes.every((u) => typeof u === 'function')).toBe(true);
    expect(store.subscribe('alice', () => {})).toBeUndefined();
    // Another owner is not affected.
    expect(store.subscribe('bob', () => {})).toBeTypeOf('function');
    unsubscribes[0]?.();
    expect(store.subscribe('alice', () => {})).toBeTypeOf('function');
  });

  it('counts the same function subscribed twice as two listeners', async () => {
    const store = createMemoryItemStore({ maxListenersPerOwner: 2 });
    const listener = vi.fn();
    const first = store.subscribe('alice', listener);
    store.subscribe('alice', listener);
    first?.();
    await store.add('alice', 'one');
    expect(listener).toHaveBeenCalledOnce();
  });

  it('lets a listener unsubscribe while being told, without skipping the others', async () => {
    const store = createMemoryItemStore();
    const second = vi.fn();
    const unsubscribe = store.subscribe('alice', () => unsubscribe?.());
    store.subscribe('alice', second);
    await store.add('alice', 'one');
    await store.add('alice', 'two');
    expect(second).toHaveBeenCalledTimes(2);
  });

  it.each([0, -1, 1.5])('refuses maxListenersPerOwner %s', (value) => {
    expect(() => createMemoryItemStore({ maxListenersPerOwner: value })).toThrow(TypeError);
  });
});

describe('createMemoryItemStore: stats', () => {
  it('counts items and owners with items', async () => {
    const store = createMemoryItemStore();
    expect(await store.stats()).toEqual({ totalItems: 0, usersWithItems: 0 });
    await store.add('alice', 'a');
    await store.add('alice', 'b');
    await store.add('bob', 'c');
    expect(await store.stats()).toEqual({ totalItems: 3, usersWithItems: 2 });
  });
});
