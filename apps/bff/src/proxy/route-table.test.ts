import type { ApiRoute } from '@okta-bff/oidc';
import { describe, expect, it } from 'vitest';
import { createRouteTable } from './route-table.ts';

const route = (name: string, prefix: string): ApiRoute => ({
  name,
  prefix,
  upstreamUrl: `http://${name}.internal/`,
  token: 'user',
  scopes: [],
  sessionRequired: true,
  timeoutMs: 1_000,
  websocket: false,
  stepUp: undefined,
});

describe('createRouteTable', () => {
  const table = createRouteTable([
    route('root', '/api'),
    route('orders', '/api/orders'),
    route('order-items', '/api/orders/items'),
  ]);
  const nameOf = (path: string) => table.match(path)?.route.name;

  it('picks the longest prefix whatever the configured order', () => {
    expect(nameOf('/api/orders/items/3')).toBe('order-items');
    expect(nameOf('/api/orders/7')).toBe('orders');
    expect(nameOf('/api/other')).toBe('root');
  });

  it('matches a prefix only whole: equal, or followed by a slash', () => {
    expect(table.match('/api/orders')).toEqual({
      route: expect.objectContaining({ name: 'orders' }),
      rest: '',
    });
    expect(table.match('/api/orders/')?.rest).toBe('/');
    expect(nameOf('/api/ordersx')).toBe('root');
    expect(table.match('/api/ordersx')?.rest).toBe('/ordersx');
    expect(nameOf('/api/orders/itemsx')).toBe('orders');
  });

  it('has no route for a path no prefix covers', () => {
    const narrow = createRouteTable([route('orders', '/api/orders')]);
    expect(narrow.match('/api')).toBeUndefined();
    expect(narrow.match('/api/')).toBeUndefined();
    expect(narrow.match('/api/order')).toBeUndefined();
    expect(narrow.match('/api/Orders/1')).toBeUndefined();
  });

  it('keeps the rest as sent, still percent-encoded', () => {
    expect(table.match('/api/orders/a%2Fb')?.rest).toBe('/a%2Fb');
  });
});
