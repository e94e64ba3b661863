// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './app.tsx';
import { LOGIN_ERROR_MESSAGES } from './login-error.ts';
import { PENDING_DELETE_KEY, readPendingDelete, STEP_UP_MESSAGES } from './step-up.ts';
import { fakeSockets } from './testing/fake-socket.ts';

const SIGNED_IN = {
  authenticated: true,
  user: { sub: 'u1', name: 'Ada Lovelace' },
  session: { expiresAt: 1_900_000_000 },
};
const LOGIN = '/auth/login?stepUp=s7Yk3&returnTo=%2Fitems';
const STEP_UP = { error: 'step_up_required', message: 'from the BFF, never shown', login: LOGIN };
const item = (id: string, name: string) => ({ id, name, createdAt: '2025-01-01T00:00:00.000Z' });

type Answer = [status: number, body?: unknown];

/**
 * Answers `METHOD path` (or just `path` for GET) with a status and JSON body; a function is asked
 * each time. Anything else fails like a network error.
 */
function stubRoutes(routes: Record<string, Answer | (() => Answer)>) {
  const fake = vi.fn(async (path: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const entry = routes[`${method} ${path}`] ?? (method === 'GET' ? routes[path] : undefined);
    const answer = typeof entry === 'function' ? entry() : entry;
    if (!answer) throw new TypeError('Failed to fetch');
    const [status, body] = answer;
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}

let root: HTMLElement;
let sockets: ReturnType<typeof fakeSockets>;
let assign: ReturnType<typeof vi.spyOn>;
const byTestId = (id: string) => root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`);
const itemNames = () =>
  [...root.querySelectorAll('[data-testid="items-list"] .item-name')].map((e) => e.textContent);
const deleteButton = (index: number) => byTestId('delete-item')[index] as HTMLButtonElement;
const deleteCalls = (fetch: ReturnType<typeof stubRoutes>) =>
  fetch.mock.calls.filter(([, init]) => init?.method === 'DELETE');

function mount(url: string) {
  history.replaceState(null, '', url);
  render(<App openSocket={sockets.open} />, root);
}

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
  sockets = fakeSockets();
  sessionStorage.clear();
  assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('deleting an item', () => {
  it('sends DELETE /api/items/<id> with X-CSRF: 1, and takes the item off the list', async () => {
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk'), item('2', 'bread')] }],
      'DELETE /api/items/1': [204],
    });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk', 'bread']));
    // Each button names its item for screen readers.
    expect(deleteButton(0).textContent).toBe('Delete “milk”');

    deleteButton(0).click();
    await vi.waitFor(() => expect(itemNames()).toEqual(['bread']));
    expect(root.textContent).toContain('Deleted “milk”.');
    const [call] = deleteCalls(fetch);
    expect(call?.[0]).toBe('/api/items/1');
    expect(new Headers(call?.[1]?.headers).get('x-csrf')).toBe('1');
  });

  it('says an item deleted elsewhere is gone, and drops it', async () => {
    stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk')] }],
      'DELETE /api/items/1': [404, { error: 'not_found', message: 'x' }],
    });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    deleteButton(0).click();
    await vi.waitFor(() =>
      expect(byTestId('delete-gone')[0]?.textContent).toBe('“milk” was already deleted.'),
    );
    expect(itemNames()).toEqual([]);
  });
});

describe('a delete that needs a step-up', () => {
  async function askToDelete(login: unknown = LOGIN) {
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk')] }],
      'DELETE /api/items/1': [401, { ...STEP_UP, login }],
    });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    deleteButton(0).click();
    return fetch;
  }

  it('says what is needed in our words, keeps the session, and Continue goes to the login path', async () => {
    await askToDelete();
    await vi.waitFor(() => expect(byTestId('step-up-required')).toHaveLength(1));
    const notice = byTestId('step-up-required')[0];
    expect(notice?.textContent).toContain(STEP_UP_MESSAGES.deleteItem);
    expect(notice?.textContent).toContain('Deleting an item needs a fresh sign-in with a second factor.');
    expect(notice?.textContent).not.toContain('never shown');
    expect(root.querySelector('[aria-live] [data-testid="step-up-required"]')).not.toBeNull();
    // Not "your session ended": the session is untouched.
    expect(byTestId('session-ended')).toHaveLength(0);
    expect(byTestId('sign-out')).toHaveLength(1);
    expect(itemNames()).toEqual(['milk']);
    const continueButton = byTestId('step-up-continue')[0];
    expect(document.activeElement).toBe(continueButton);

    continueButton?.click();
    expect(assign).toHaveBeenCalledExactlyOnceWith(LOGIN);
    expect(readPendingDelete()).toMatchObject({ id: '1', name: 'milk' });
  });

  it('Cancel stays on the page and remembers nothing', async () => {
    await askToDelete();
    await vi.waitFor(() => expect(byTestId('step-up-cancel')).toHaveLength(1));
    byTestId('step-up-cancel')[0]?.click();
    await vi.waitFor(() => expect(byTestId('step-up-required')).toHaveLength(0));
    expect(assign).not.toHaveBeenCalled();
    expect(sessionStorage.getItem(PENDING_DELETE_KEY)).toBeNull();
    expect(itemNames()).toEqual(['milk']);
  });

  it.each([
    'https://evil.example/auth/login?stepUp=x',
    '//evil.example/auth/login?stepUp=x',
    'javascript:alert(1)',
    '/auth/logout?x',
  ])('never follows a login of %s: a plain error, no Continue', async (login) => {
    await askToDelete(login);
    await vi.waitFor(() => expect(byTestId('error')).toHaveLength(1));
    expect(byTestId('step-up-continue')).toHaveLength(0);
    expect(byTestId('session-ended')).toHaveLength(0);
    expect(assign).not.toHaveBeenCalled();
  });
});

describe('back from the step-up sign-in', () => {
  function remember(id: string, name: string, at = Date.now()) {
    sessionStorage.setItem(PENDING_DELETE_KEY, JSON.stringify({ id, name, at }));
  }

  it('offers to delete the remembered item, and deletes it only on that click', async () => {
    remember('1', 'milk');
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk'), item('2', 'bread')] }],
      'DELETE /api/items/1': [204],
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('pending-delete')).toHaveLength(1));
    expect(byTestId('pending-delete')[0]?.textContent).toContain('Delete “milk” now?');
    expect(deleteCalls(fetch)).toHaveLength(0);

    byTestId('pending-delete-confirm')[0]?.click();
    await vi.waitFor(() => expect(itemNames()).toEqual(['bread']));
    expect(deleteCalls(fetch)).toHaveLength(1);
    expect(byTestId('pending-delete')).toHaveLength(0);
    expect(sessionStorage.getItem(PENDING_DELETE_KEY)).toBeNull();
  });

  it('"Keep it" forgets the offer without deleting', async () => {
    remember('1', 'milk');
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk')] }],
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('pending-delete')).toHaveLength(1));
    byTestId('pending-delete-dismiss')[0]?.click();
    await vi.waitFor(() => expect(byTestId('pending-delete')).toHaveLength(0));
    expect(deleteCalls(fetch)).toHaveLength(0);
    expect(sessionStorage.getItem(PENDING_DELETE_KEY)).toBeNull();
  });

  it('offers nothing for an item no longer in the list, or remembered too long ago', async () => {
    remember('9', 'gone');
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/items': [200, { items: [item('1', 'milk')] }] });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    await vi.waitFor(() => expect(sessionStorage.getItem(PENDING_DELETE_KEY)).toBeNull());
    expect(byTestId('pending-delete')).toHaveLength(0);

    render(null, root);
    remember('1', 'milk', Date.now() - 11 * 60 * 1000);
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    expect(byTestId('pending-delete')).toHaveLength(0);
  });

  it.each([
    ['step_up_failed', LOGIN_ERROR_MESSAGES.step_up_failed],
    ['step_up_invalid', LOGIN_ERROR_MESSAGES.step_up_invalid],
  ])('explains login_error=%s and forgets the pending delete', async (code, message) => {
    remember('1', 'milk');
    stubRoutes({ '/auth/user': [200, SIGNED_IN] });
    mount(`/?login_error=${code}`);
    // Signed in still (the step-up failed, the session did not): the sentence, no sign-in button.
    await vi.waitFor(() => expect(byTestId('login-error')).toHaveLength(1));
    expect(byTestId('greeting')[0]?.textContent).toBe('Ada Lovelace');
    expect(byTestId('login-error')[0]?.textContent).toBe(`Sign-in failed. ${message}`);
    expect(byTestId('sign-in')).toHaveLength(0);
    expect(location.search).toBe('');
    expect(sessionStorage.getItem(PENDING_DELETE_KEY)).toBeNull();
  });
});
