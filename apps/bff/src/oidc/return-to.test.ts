import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.ts';

const ORIGIN = 'http://localhost:8000';

describe('safeReturnTo', () => {
  it.each([
    ['/items?x=1#top', '/items?x=1#top'],
    ['/', '/'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['/a/../b', '/b'],
  ])('keeps the same-origin path %s', (value, expected) => {
    expect(safeReturnTo(value, ORIGIN)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    'items',
    '/\tevil',
    '/items\\..\\x',
    `/${'a'.repeat(3000)}`,
    undefined,
    '',
  ])('sends %s to /', (value) => {
    expect(safeReturnTo(value, ORIGIN)).toBe('/');
  });
});
