import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  addItem,
  getPublicNotices,
  getStats,
  getUser,
  listItems,
  logout,
  onApiActivity,
  parseLiveMessage,
  parsePublicNotices,
  readApiError,
  request,
} from './api.ts';

type FetchArgs = [input: string, init: RequestInit];

/** Replaces global fetch with one answering `response` (or throwing it), recording the calls. */
function stubFetch(response: Response | Error) {
  const fake = vi.fn(async (..._args: FetchArgs) => {
    if (response instanceof Error) throw response;
    return response;
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function headersOf(call: FetchArgs | undefined): Headers {
  return new Headers(call?.[1].headers);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('request', () => {
  it('sends X-CSRF: 1 and same-origin credentials to a relative URL', async () => {
    const fetch = stubFetch(json(200, {}));
    await request('/api/items', { method: 'POST', json: { name: 'a' } });
    const call = fetch.mock.calls[0];
    expect(call?.[0]).toBe('/api/items');
    expect(call?.[1].credentials).toBe('same-origin');
    expect(call?.[1].method).toBe('POST');
    expect(call?.[1].body).toBe('{"name":"a"}');
    expect(headersOf(call).get('x-csrf')).toBe('1');
    expect(headersOf(call).get('content-type')).toBe('application/json');
  });

  it('adds X-CSRF to GETs too', async () => {
    const fetch = stubFetch(json(200, []));
    await listItems();
    expect(headersOf(fetch.mock.calls[0]).get('x-csrf')).toBe('1');
    expect(fetch.mock.calls[0]?.[1].method).toBe('GET');
  });

  it.each(['https://evil.example/api', '//evil.example/api', '/\\evil.example', 'api/items'])(
    'refuses %s, which is not a same-origin path',
    async (url) => {
      const fetch = stubFetch(json(200, {}));
      await expect(request(url)).rejects.toBeInstanceOf(TypeError);
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it('turns a failed fetch into network_error with status 0 and the cause', async () => {
    const cause = new TypeError('Failed to fetch');
    stubFetch(cause);
    const error = await request('/auth/user').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 0, code: 'network_error', cause });
  });

  it('lets an abort through instead of calling it a network error', async () => {
    stubFetch(new DOMException('aborted', 'AbortError'));
    await expect(request('/api/items')).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('readApiError', () => {
  it.each([
    [401, 'unauthenticated'],
    [401, 'session_expired'],
    [403, 'csrf_required'],
    [502, 'upstream_unavailable'],
    [504, 'upstream_timeout'],
    [400, 'bad_request'],
  ] as const)('maps %i {error: %s} to that code', async (status, code) => {
    const error = await readApiError(json(status, { error: code, message: 'Human sentence.' }));
    expect(error).toMatchObject({ status, code, message: 'Human sentence.' });
  });

  it.each([
    [401, 'unauthenticated'],
    [502, 'upstream_unavailable'],
    [503, 'upstream_unavailable'],
    [504, 'upstream_timeout'],
    [500, 'internal_error'],
    [418, 'unexpected_response'],
  ] as const)('falls back on the status (%i → %s) for a body that is not ours', async (status, code) => {
    const html = new Response('<html>Bad gateway</html>', { status });
    expect(await readApiError(html)).toMatchObject({ status, code });
    expect(await readApiError(json(status, { error: 'something_else' }))).toMatchObject({ status, code });
  });
});

describe('getUser', () => {
  it('is signed in on 200, with when the session ends and how the user signed in', async () => {
    const session = { expiresAt: 42, idleExpiresAt: 40, acr: 'urn:okta:loa:2fa:any', authTime: 10 };
    stubFetch(json(200, { authenticated: true, user: { sub: 'u1', name: 'Ada' }, session }));
    expect(await getUser()).toEqual({
      signedIn: true,
      user: { sub: 'u1', name: 'Ada' },
      ...session,
      serverTime: null,
    });
  });

  it('reads the BFF clock from the Date header', async () => {
    const session = { expiresAt: 42, idleExpiresAt: 40, acr: null, authTime: null };
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    stubFetch(
      new Response(JSON.stringify({ authenticated: true, user: { sub: 'u1' }, session }), {
        headers: { Date: date },
      }),
    );
    expect(await getUser()).toMatchObject({ signedIn: true, acr: null, serverTime: Date.parse(date) });
  });

  it.each([
    ['an older BFF (expiresAt only)', { expiresAt: 42 }, 42],
    ['no session field', undefined, null],
    ['malformed fields', { expiresAt: '42', idleExpiresAt: null, acr: 2, authTime: 'x' }, null],
  ])('takes what it cannot read as unknown: %s', async (_, session, expiresAt) => {
    stubFetch(json(200, { authenticated: true, user: { sub: 'u1' }, session }));
    expect(await getUser()).toEqual({
      signedIn: true,
      user: { sub: 'u1' },
      expiresAt,
      idleExpiresAt: null,
      acr: null,
      authTime: null,
      serverTime: null,
    });
  });

  it('refuses an answer without a user', async () => {
    stubFetch(json(200, { authenticated: true, session: { expiresAt: 42 } }));
    await expect(getUser()).rejects.toMatchObject({ code: 'unexpected_response' });
  });

  it('is signed out on 401', async () => {
    stubFetch(json(401, { authenticated: false }));
    expect(await getUser()).toEqual({ signedIn: false });
  });

  it('throws the coded error on 503', async () => {
    stubFetch(json(503, { error: 'idp_unavailable', message: 'x' }));
    await expect(getUser()).rejects.toMatchObject({ status: 503, code: 'idp_unavailable' });
  });
});

describe('onApiActivity', () => {
  it('reports each successful call through the session, and nothing else', async () => {
    const listener = vi.fn();
    const unsubscribe = onApiActivity(listener);
    try {
      stubFetch(json(200, []));
      await listItems();
      expect(listener).toHaveBeenCalledTimes(1);

      await request('/api/public/notices');
      await request('/auth/user');
      stubFetch(json(401, { error: 'unauthenticated', message: 'x' }));
      await request('/api/items');
      stubFetch(new TypeError('Failed to fetch'));
      await expect(request('/api/items')).rejects.toMatchObject({ code: 'network_error' });
      expect(listener).toHaveBeenCalledTimes(1);
    } finally {
      unsubscribe();
    }
    stubFetch(json(200, []));
    await listItems();
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe('items', () => {
  const item = { id: '1', name: 'Milk', createdAt: '2025-01-01T00:00:00Z' };

  it('lists items', async () => {
    stubFetch(json(200, [item]));
    expect(await listItems()).toEqual([item]);
  });

  it('rejects a malformed list as unexpected_response', async () => {
    stubFetch(json(200, [{ id: 1 }]));
    await expect(listItems()).rejects.toMatchObject({ code: 'unexpected_response' });
  });

  it('adds an item with a JSON body', async () => {
    const fetch = stubFetch(json(201, item));
    expect(await addItem('Milk')).toEqual(item);
    expect(JSON.parse(String(fetch.mock.calls[0]?.[1].body))).toEqual({ name: 'Milk' });
  });

  it('surfaces a 401 session_expired from the proxy', async () => {
    stubFetch(json(401, { error: 'session_expired', message: 'x' }));
    await expect(addItem('Milk')).rejects.toMatchObject({ status: 401, code: 'session_expired' });
  });
});

describe('logout', () => {
  it('POSTs with X-CSRF, then navigates to the end-session URL', async () => {
    const fetch = stubFetch(json(200, { logoutUrl: 'https://idp.example/v1/logout?state=s' }));
    const assign = vi.fn();
    await logout(assign);
    expect(fetch.mock.calls[0]?.[0]).toBe('/auth/logout');
    expect(fetch.mock.calls[0]?.[1].method).toBe('POST');
    expect(headersOf(fetch.mock.calls[0]).get('x-csrf')).toBe('1');
    expect(assign).toHaveBeenCalledWith('https://idp.example/v1/logout?state=s');
  });

  it('never navigates to a javascript: URL', async () => {
    stubFetch(json(200, { logoutUrl: 'javascript:alert(1)' }));
    const assign = vi.fn();
    await expect(logout(assign)).rejects.toMatchObject({ code: 'unexpected_response' });
    expect(assign).not.toHaveBeenCalled();
  });

  it('does not navigate when the BFF refuses (403 csrf_required)', async () => {
    stubFetch(json(403, { error: 'csrf_required', message: 'x' }));
    const assign = vi.fn();
    await expect(logout(assign)).rejects.toMatchObject({ status: 403, code: 'csrf_required' });
    expect(assign).not.toHaveBeenCalled();
  });
});

describe('getPublicNotices', () => {
  const notice = { id: 'a', title: 'T', text: 'x', publishedAt: '2025-06-01T00:00:00Z' };

  it('GETs /api/public/notices with X-CSRF and keeps only well-formed notices', async () => {
    const fetch = stubFetch(json(200, { status: 'operational', notices: [notice, { id: 1 }, null] }));
    expect(await getPublicNotices()).toEqual({ status: 'operational', notices: [notice] });
    expect(fetch.mock.calls[0]?.[0]).toBe('/api/public/notices');
    expect(headersOf(fetch.mock.calls[0]).get('x-csrf')).toBe('1');
  });

  it.each([[null], [[]], [{ notices: [] }], [{ status: 'ok' }]])('refuses the body %j', (body) => {
    expect(() => parsePublicNotices(body)).toThrow(ApiError);
  });

  it('turns an error answer into an ApiError', async () => {
    stubFetch(json(502, { error: 'upstream_unavailable', message: 'x' }));
    await expect(getPublicNotices()).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('getStats', () => {
  it('GETs /api/stats and reads the two counts', async () => {
    const fetch = stubFetch(json(200, { totalItems: 3, usersWithItems: 2 }));
    expect(await getStats()).toEqual({ totalItems: 3, usersWithItems: 2 });
    expect(fetch.mock.calls[0]?.[0]).toBe('/api/stats');
  });

  it.each([[{ totalItems: '3', usersWithItems: 2 }], [{ totalItems: 1.5, usersWithItems: 1 }], [{}]])(
    'refuses %j',
    async (body) => {
      stubFetch(json(200, body));
      await expect(getStats()).rejects.toMatchObject({ code: 'unexpected_response' });
    },
  );
});

describe('parseLiveMessage', () => {
  const item = { id: '1', name: 'milk', createdAt: '2025-01-01T00:00:00.000Z' };

  it('reads the items of an items message', () => {
    expect(parseLiveMessage(JSON.stringify({ type: 'items', items: [item] }))).toEqual([item]);
    expect(parseLiveMessage('{"type":"items","items":[]}')).toEqual([]);
  });

  it.each([
    ['binary data', new ArrayBuffer(2)],
    ['not JSON', '{'],
    ['another type', '{"type":"other","items":[]}'],
    ['items not a list', '{"type":"items","items":{}}'],
    ['a malformed item', '{"type":"items","items":[{"id":"1"}]}'],
  ])('ignores %s', (_, data) => {
    expect(parseLiveMessage(data)).toBeUndefined();
  });
});
