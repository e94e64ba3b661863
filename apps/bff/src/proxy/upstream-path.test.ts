import { describe, expect, it } from 'vitest';
import { resolveUpstreamPath } from './upstream-path.ts';

describe('resolveUpstreamPath', () => {
  it.each([
    ['/', '/items', '/items'],
    ['/', '', '/'],
    ['/items', '', '/items'],
    ['/items', '/', '/items/'],
    ['/v1/', '/items/42', '/v1/items/42'],
    ['/v1', '/items/a%20b', '/v1/items/a%20b'],
    ['/', '/items/%E2%9C%93', '/items/%E2%9C%93'],
    ['/', '/a.b/..c/c..', '/a.b/..c/c..'],
  ])('joins base %s and %s', (base, raw, expected) => {
    expect(resolveUpstreamPath(base, raw)).toEqual({ ok: true, path: expected });
  });

  it.each([
    '/../admin',
    '/items/..',
    '/items/./x',
    '/%2e%2e/admin',
    '/%2E%2E/admin',
    '/.%2e/admin',
    '/%252e%252e/admin',
    '/%25252e%25252e/admin',
    '/items%2f..%2fadmin',
    '/items%2F..',
    '/items%252f..',
    '/items%5c..%5cadmin',
    '/items%5C',
    '/items\\..\\admin',
    '/items%00',
    '/items%E0%A4%A',
  ])('refuses %s', (raw) => {
    expect(resolveUpstreamPath('/v1/', raw).ok).toBe(false);
  });
});
