import { describe, expect, it } from 'vitest';
import { isApiRequest, parseApiRequest } from './parse-request.ts';

describe('parseApiRequest', () => {
  it('splits the target into path and query, as sent', () => {
    expect(parseApiRequest({ method: 'GET', url: '/api/items/a%20b?x=1&y', headers: {} })).toEqual({
      ok: true,
      method: 'GET',
      path: '/api/items/a%20b',
      query: '?x=1&y',
      framing: { kind: 'none' },
    });
  });

  it('refuses a method it does not forward, with Allow', () => {
    const parsed = parseApiRequest({ method: 'TRACE', url: '/api/x', headers: {} });
    expect(parsed).toMatchObject({ ok: false, code: 'method_not_allowed' });
    expect(parsed.ok || parsed.headers?.allow).toContain('PATCH');
  });

  it('refuses framing it cannot forward safely', () => {
    const parsed = parseApiRequest({
      method: 'POST',
      url: '/api/x',
      headers: { 'content-length': '3', 'transfer-encoding': 'chunked' },
    });
    expect(parsed).toMatchObject({ ok: false, code: 'bad_request' });
  });
});

describe('isApiRequest', () => {
  it.each([
    ['/api', true],
    ['/api/', true],
    ['/api?x', true],
    ['/api/items', true],
    ['/apix', false],
    ['/', false],
    [undefined, false],
  ])('%s → %s', (url, expected) => {
    expect(isApiRequest(url)).toBe(expected);
  });
});
