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

describe('createMemoryItemStore: remove', () => {
  it("removes the owner's item, tells the owner's listeners after it is gone, and updates the counts", async () => {
    const store = createMemoryItemStore();
    const milk = await store.add('alice', 'milk');
    const bread = await store.add('alice', 'bread');
    await store.add('bob', 'bike');
    const seen: string[][] = [];
    const alice = vi.fn(() => {
      void store.list('alice').then((items) => seen.push(items.map((item) => item.name)));
    });
    const bob = vi.fn();
    store.subscribe('alice', alice);
    store.subscribe('bob', bob);

    expect(await store.remove('alice', milk.id)).toBe(true);
    expect(alice).toHaveBeenCalledOnce();
    expect(bob).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(seen).toEqual([['bread']]));
    expect(await store.stats()).toEqual({ totalItems: 2, usersWithItems: 2 });

    expect(await store.remove('alice', bread.id)).toBe(true);
    expect(await store.list('alice')).toEqual([]);
    // An owner with no items left is no longer counted.
    expect(await store.stats()).toEqual({ totalItems: 1, usersWithItems: 1 });
  });

  it("changes nothing and tells no one for an unknown id or another owner's item", async () => {
    const store = createMemoryItemStore();
    const bike = await store.add('bob', 'bike');
    const listener = vi.fn();
    store.subscribe('alice', listener);
    store.subscribe('bob', listener);
    expect(await store.remove('alice', bike.id)).toBe(false);
    expect(await store.remove('bob', 'no-such-id')).toBe(false);
    expect(await store.remove('carol', 'no-such-id')).toBe(false);
    expect(listener).not.toHaveBeenCalled();
    expect(await store.list('bob')).toEqual([bike]);
    expect(await store.stats()).toEqual({ totalItems: 1, usersWithItems: 1 });
  });

  it('frees room under the per-owner limit', async () => {
    const store = createMemoryItemStore({ maxItemsPerOwner: 1 });
    const one = await store.add('alice', 'one');
    await expect(store.add('alice', 'two')).rejects.toMatchObject({ code: 'item_limit_reached' });
    await store.remove('alice', one.id);
    expect((await store.add('alice', 'two')).name).toBe('two');
  });
});
