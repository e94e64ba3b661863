import { describe, expect, it } from 'vitest';
import { expectedHtu, normalizeHtu } from './dpop-htu.ts';

describe('normalizeHtu (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2–6.2.3)', () => {
  it.each([
    ['drops query and fragment', 'http://127.0.0.1:8001/items?a=1#x', 'http://127.0.0.1:8001/items'],
    ['lower-cases scheme and host', 'HTTPS://API.Example.COM/items', 'https://api.example.com/items'],
    ['drops the default http port', 'http://api.example:80/items', 'http://api.example/items'],
    ['drops the default https port', 'https://api.example:443/items', 'https://api.example/items'],
    ['keeps another port', 'https://api.example:8443/items', 'https://api.example:8443/items'],
    ['turns an empty path into /', 'https://api.example', 'https://api.example/'],
    ['resolves dot segments', 'https://api.example/a/./b/../items', 'https://api.example/a/items'],
    [
      'decodes percent-encoded unreserved characters',
      'https://api.example/%7Euser/%69tems',
      'https://api.example/~user/items',
    ],
    [
      'upper-cases the hex of other percent-encodings',
      'https://api.example/a%2fb%c3%a9',
      'https://api.example/a%2Fb%C3%A9',
    ],
    ['keeps the path case', 'https://api.example/Items', 'https://api.example/Items'],
  ])('%s', (_, input, output) => expect(normalizeHtu(input)).toBe(output));

  it.each([
    '/items',
    'items',
    '',
    'ftp://api.example/items',
    'https://user:pw@api.example/items',
    'not a url',
  ])('refuses %j', (input) => expect(normalizeHtu(input)).toBeUndefined());
});

describe('expectedHtu', () => {
  it('is the request URL itself without a public URL', () => {
    expect(expectedHtu('http://127.0.0.1:8001/items?x=1')).toBe('http://127.0.0.1:8001/items');
  });

  it('takes scheme and authority from the public URL, the path from the request', () => {
    expect(expectedHtu('http://10.0.0.7:8001/items?x=1', new URL('https://api.example.com'))).toBe(
      'https://api.example.com/items',
    );
  });

  it('puts a public path prefix before the request path, with or without a trailing slash', () => {
    for (const base of ['https://gw.example/items-api', 'https://gw.example/items-api/']) {
      expect(expectedHtu('http://localhost/items', new URL(base))).toBe('https://gw.example/items-api/items');
    }
  });
});
