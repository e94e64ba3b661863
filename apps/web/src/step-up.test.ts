import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, deleteItem, readApiError } from './api.ts';
import { classifyError } from './errors.ts';
import {
  clearPendingDelete,
  isStepUpLoginUrl,
  PENDING_DELETE_KEY,
  PENDING_DELETE_TTL_MS,
  type PendingStorage,
  readPendingDelete,
  rememberPendingDelete,
} from './step-up.ts';

const ORIGIN = 'http://localhost:8000';
const LOGIN = '/auth/login?stepUp=s7Yk3&returnTo=%2Fitems';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function fakeStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  const storage: PendingStorage = {
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
  return { storage, data };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('isStepUpLoginUrl', () => {
  it.each([LOGIN, '/auth/login?stepUp=x', '/auth/login?returnTo=%2F&stepUp=a-b_c'])('follows %s', (value) => {
    expect(isStepUpLoginUrl(value, ORIGIN)).toBe(true);
  });

  it.each([
    ['another origin', 'https://evil.example/auth/login?stepUp=x'],
    ['a protocol-relative URL', '//evil.example/auth/login?stepUp=x'],
    ['javascript:', 'javascript:alert(1)//auth/login?'],
    ['another BFF route', '/auth/logout?x=1'],
    ['the login route without a query', '/auth/login'],
    ['a longer path', '/auth/loginx?stepUp=x'],
    ['a path climbing out', '/auth/login/../../evil?x'],
    ['a relative path', 'auth/login?stepUp=x'],
    ['a backslash', '/auth/login?\\evil.example'],
    ['a control character', '/auth/login?stepUp=x\n'],
    ['a number', 42],
    ['nothing', undefined],
  ])('refuses %s', (_, value) => {
    expect(isStepUpLoginUrl(value, ORIGIN)).toBe(false);
  });
});

describe('step_up_required answers', () => {
  it('keep the login path, and are no ended session', async () => {
    const error = await readApiError(json(401, { error: 'step_up_required', message: 'x', login: LOGIN }));
    expect(error).toMatchObject({ status: 401, code: 'step_up_required', stepUpLogin: LOGIN });
    expect(classifyError(error)).toBe('step-up-required');
  });

  it.each([
    'https://evil.example/auth/login?stepUp=x',
    '//evil.example/auth/login?x',
    'javascript:alert(1)',
    undefined,
  ])('drop a login of %s: nothing to follow, so a plain error', async (login) => {
    const error = await readApiError(json(401, { error: 'step_up_required', message: 'x', login }));
    expect(error.code).toBe('step_up_required');
    expect(error.stepUpLogin).toBeUndefined();
    expect(classifyError(error)).toBe('other');
  });

  it('are not read from another code', async () => {
    const error = await readApiError(json(401, { error: 'session_expired', message: 'x', login: LOGIN }));
    expect(error.stepUpLogin).toBeUndefined();
    expect(classifyError(error)).toBe('session-ended');
  });
});

describe('deleteItem', () => {
  it('sends DELETE /api/items/<id> (encoded) with X-CSRF: 1 and resolves on 204', async () => {
    const fetch = vi.fn(async (..._args: [string, RequestInit]) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', fetch);
    await deleteItem('a/b?c');
    const [path, init] = fetch.mock.calls[0] ?? [];
    expect(path).toBe('/api/items/a%2Fb%3Fc');
    expect(init?.method).toBe('DELETE');
    expect(init?.credentials).toBe('same-origin');
    expect(new Headers(init?.headers).get('x-csrf')).toBe('1');
  });

  it('rejects with step_up_required and the login path', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(401, { error: 'step_up_required', message: 'x', login: LOGIN })),
    );
    const error = await deleteItem('1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'step_up_required', stepUpLogin: LOGIN });
  });

  it('rejects with not_found for an item that is gone', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(404, { error: 'not_found', message: 'x' })),
    );
    await expect(deleteItem('1')).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });
});

describe('the pending delete', () => {
  it('is remembered, read back while recent, and cleared', () => {
    const { storage } = fakeStorage();
    rememberPendingDelete({ id: '1', name: 'milk' }, storage, 1_000);
    expect(readPendingDelete(storage, 1_000 + PENDING_DELETE_TTL_MS)).toEqual({
      id: '1',
      name: 'milk',
      at: 1_000,
    });
    clearPendingDelete(storage);
    expect(readPendingDelete(storage, 1_000)).toBeUndefined();
  });

  it('is forgotten once too old', () => {
    const { storage, data } = fakeStorage();
    rememberPendingDelete({ id: '1', name: 'milk' }, storage, 1_000);
    expect(readPendingDelete(storage, 1_001 + PENDING_DELETE_TTL_MS)).toBeUndefined();
    expect(data.has(PENDING_DELETE_KEY)).toBe(false);
  });

  it.each(['not json', '{"id":1,"name":"x","at":0}', '{"id":"1","at":0}', 'null', '[]'])(
    'drops a stored %s',
    (raw) => {
      const { storage, data } = fakeStorage({ [PENDING_DELETE_KEY]: raw });
      expect(readPendingDelete(storage, 0)).toBeUndefined();
      expect(data.has(PENDING_DELETE_KEY)).toBe(false);
    },
  );

  it('survives a storage that throws', () => {
    const broken: PendingStorage = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
      removeItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    expect(() => rememberPendingDelete({ id: '1', name: 'x' }, broken)).not.toThrow();
    expect(readPendingDelete(broken)).toBeUndefined();
    expect(() => clearPendingDelete(broken)).not.toThrow();
  });
});
