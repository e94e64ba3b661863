// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { endOtherSessions, endSession, listSessions, parseDeviceSessions, sessionsSupported } from './api.ts';
import { App } from './app.tsx';
import { fakeSockets } from './testing/fake-socket.ts';

const SIGNED_IN = {
  authenticated: true,
  user: { sub: 'u1', name: 'Ada Lovelace' },
  session: { expiresAt: 1_900_000_000 },
};
const THIS = {
  id: 'id-this',
  createdAt: 1_700_000_000,
  lastSeenAt: 1_700_000_500,
  device: 'Chrome on Linux',
  current: true,
};
const PHONE = {
  id: 'id/phone',
  createdAt: 1_700_001_000,
  lastSeenAt: 1_700_002_000,
  device: 'Safari on iPhone',
  current: false,
};
const TABLET = {
  id: 'id-tablet',
  createdAt: 1_700_003_000,
  lastSeenAt: 1_700_003_100,
  device: 'Firefox on Android',
  current: false,
};
const NOT_SUPPORTED = [501, { error: 'not_supported', message: 'x' }] as const;

type Answer = readonly [status: number, body: unknown];
type Route = Answer | ((init?: RequestInit) => Answer);

/** Answers `METHOD path` (or `path` for any method) with a status and JSON body; records every call. */
function stubRoutes(routes: Record<string, Route>) {
  const fake = vi.fn(async (path: string, init?: RequestInit) => {
    const entry = routes[`${init?.method ?? 'GET'} ${path}`] ?? routes[path];
    const answer = typeof entry === 'function' ? entry(init) : entry;
    if (!answer) throw new TypeError('Failed to fetch');
    const [status, body] = answer;
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}

const calls = (fetch: ReturnType<typeof stubRoutes>) =>
  fetch.mock.calls.map(([path, init]) => `${init?.method ?? 'GET'} ${path}`);

let root: HTMLElement;
const byTestId = (id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const navLinks = () => [...root.querySelectorAll('nav a')].map((a) => a.textContent);
const rows = () => byTestId('device-row').map((row) => row.querySelector('th')?.textContent);

function mount(url: string) {
  history.replaceState(null, '', url);
  render(<App openSocket={fakeSockets().open} />, root);
}

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the sessions API', () => {
  it('lists sessions, dropping malformed entries', async () => {
    stubRoutes({ '/auth/sessions': [200, { sessions: [THIS, { id: 3 }, PHONE, null] }] });
    expect(await listSessions()).toEqual([THIS, PHONE]);
    expect(() => parseDeviceSessions({ items: [] })).toThrow(/Unexpected session list/);
  });

  it('a 501 is not_supported; a 401 unauthenticated', async () => {
    stubRoutes({ '/auth/sessions': NOT_SUPPORTED });
    await expect(listSessions()).rejects.toMatchObject({ status: 501, code: 'not_supported' });
    stubRoutes({ '/auth/sessions': [401, { error: 'unauthenticated', message: 'x' }] });
    await expect(listSessions()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('sessionsSupported: anything but a 501; no answer counts as no', async () => {
    stubRoutes({ '/auth/sessions': [200, { sessions: [] }] });
    expect(await sessionsSupported()).toBe(true);
    stubRoutes({ '/auth/sessions': [401, { error: 'unauthenticated', message: 'x' }] });
    expect(await sessionsSupported()).toBe(true);
    stubRoutes({ '/auth/sessions': NOT_SUPPORTED });
    expect(await sessionsSupported()).toBe(false);
    stubRoutes({});
    expect(await sessionsSupported()).toBe(false);
  });

  it('ends one session (its id encoded in the path) and the others, with X-CSRF: 1', async () => {
    const fetch = stubRoutes({
      'DELETE /auth/sessions/id%2Fphone': [204, null],
      'POST /auth/sessions/end-others': [204, null],
      'DELETE /auth/sessions/gone': [404, { error: 'not_found', message: 'x' }],
    });
    await endSession('id/phone');
    await endOtherSessions();
    await expect(endSession('gone')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(calls(fetch)).toEqual([
      'DELETE /auth/sessions/id%2Fphone',
      'POST /auth/sessions/end-others',
      'DELETE /auth/sessions/gone',
    ]);
    for (const [, init] of fetch.mock.calls) expect(new Headers(init?.headers).get('x-csrf')).toBe('1');
  });
});

describe('the Devices link', () => {
  it('is shown when the BFF lists sessions', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/auth/sessions': [200, { sessions: [THIS] }] });
    mount('/');
    await vi.waitFor(() => expect(navLinks()).toEqual(['Home', 'Profile', 'Items', 'Devices']));
  });

  it('is hidden when the BFF answers 501 (the cookie store)', async () => {
    const fetch = stubRoutes({ '/auth/user': [200, SIGNED_IN], '/auth/sessions': NOT_SUPPORTED });
    mount('/');
    await vi.waitFor(() => expect(calls(fetch)).toContain('GET /auth/sessions'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(navLinks()).toEqual(['Home', 'Profile', 'Items']);
  });

  it('is not asked for when signed out', async () => {
    const fetch = stubRoutes({ '/auth/user': [401, { authenticated: false }] });
    mount('/');
    await vi.waitFor(() => expect(byTestId('sign-in').length).toBeGreaterThan(0));
    expect(calls(fetch)).not.toContain('GET /auth/sessions');
  });
});

describe('the Devices page', () => {
  it('lists the sessions with device, times and “this device”, this one without a per-device sign-out', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/auth/sessions': [200, { sessions: [THIS, PHONE] }] });
    mount('/devices');
    await vi.waitFor(() => expect(rows()).toEqual(['Chrome on Linux (this device)', 'Safari on iPhone']));
    expect(document.title).toMatch(/^Devices/);
    const [current, phone] = byTestId('device-row');
    expect(current!.querySelector('[data-testid="this-device"]')).not.toBeNull();
    expect(current!.querySelector('[data-testid="sign-out-device"]')).toBeNull();
    expect(phone!.querySelector('[data-testid="this-device"]')).toBeNull();
    expect(phone!.querySelectorAll('time')[0]?.getAttribute('datetime')).toBe(
      new Date(PHONE.createdAt * 1000).toISOString(),
    );
    expect(phone!.querySelectorAll('time')[1]?.getAttribute('datetime')).toBe(
      new Date(PHONE.lastSeenAt * 1000).toISOString(),
    );
    expect(byTestId('sign-out-others')).toHaveLength(1);
  });

  it('signs out another device, says so, and shows the list without it', async () => {
    let sessions = [THIS, PHONE, TABLET];
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      'GET /auth/sessions': () => [200, { sessions }],
      'DELETE /auth/sessions/id%2Fphone': () => {
        sessions = [THIS, TABLET];
        return [204, null];
      },
    });
    mount('/devices');
    await vi.waitFor(() => expect(rows()).toHaveLength(3));
    byTestId('sign-out-device')[0]!.click();
    await vi.waitFor(() => expect(rows()).toEqual(['Chrome on Linux (this device)', 'Firefox on Android']));
    expect(root.querySelector('[aria-live] .success')?.textContent).toBe('Signed out Safari on iPhone.');
    expect(calls(fetch)).toContain('DELETE /auth/sessions/id%2Fphone');
  });

  it('“Sign out everywhere else” ends the others and leaves this one', async () => {
    let sessions = [THIS, PHONE, TABLET];
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      'GET /auth/sessions': () => [200, { sessions }],
      'POST /auth/sessions/end-others': () => {
        sessions = [THIS];
        return [204, null];
      },
    });
    mount('/devices');
    await vi.waitFor(() => expect(byTestId('sign-out-others')).toHaveLength(1));
    byTestId('sign-out-others')[0]!.click();
    await vi.waitFor(() => expect(byTestId('no-other-devices')).toHaveLength(1));
    expect(rows()).toEqual(['Chrome on Linux (this device)']);
    expect(byTestId('sign-out-others')).toHaveLength(0);
    expect(calls(fetch).filter((call) => call.startsWith('POST'))).toEqual([
      'POST /auth/sessions/end-others',
    ]);
  });

  it('signing out this device is the app’s sign-out (logout, then the IdP)', async () => {
    const assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      'GET /auth/sessions': [200, { sessions: [THIS, PHONE] }],
      'POST /auth/logout': [200, { logoutUrl: 'https://idp.example/logout' }],
    });
    mount('/devices');
    await vi.waitFor(() => expect(byTestId('sign-out-this')).toHaveLength(1));
    byTestId('sign-out-this')[0]!.click();
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith('https://idp.example/logout'));
    expect(calls(fetch).some((call) => call.startsWith('DELETE'))).toBe(false);
  });

  it('a device already signed out elsewhere (404) just leaves the list', async () => {
    let sessions = [THIS, PHONE];
    stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      'GET /auth/sessions': () => [200, { sessions }],
      'DELETE /auth/sessions/id%2Fphone': () => {
        sessions = [THIS];
        return [404, { error: 'not_found', message: 'x' }];
      },
    });
    mount('/devices');
    await vi.waitFor(() => expect(rows()).toHaveLength(2));
    byTestId('sign-out-device')[0]!.click();
    await vi.waitFor(() => expect(rows()).toHaveLength(1));
    expect(byTestId('error')).toHaveLength(0);
  });

  it('a 401 says the session ended', async () => {
    stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      'GET /auth/sessions': [200, { sessions: [THIS, PHONE] }],
      'DELETE /auth/sessions/id%2Fphone': [401, { error: 'unauthenticated', message: 'x' }],
    });
    mount('/devices');
    await vi.waitFor(() => expect(byTestId('sign-out-device')).toHaveLength(1));
    byTestId('sign-out-device')[0]!.click();
    await vi.waitFor(() => expect(byTestId('session-ended')).toHaveLength(1));
    expect(byTestId('sign-out')).toHaveLength(0);
  });

  it('says the list is not available with the cookie store (someone followed a link)', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/auth/sessions': NOT_SUPPORTED });
    mount('/devices');
    await vi.waitFor(() => expect(byTestId('devices-unsupported')).toHaveLength(1));
    expect(byTestId('devices-table')).toHaveLength(0);
  });

  it('shows device names as text, never as markup', async () => {
    const odd = { ...PHONE, device: '<img src=x onerror=alert(1)>' };
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/auth/sessions': [200, { sessions: [THIS, odd] }] });
    mount('/devices');
    await vi.waitFor(() => expect(rows()).toContain('<img src=x onerror=alert(1)>'));
    expect(root.querySelector('img')).toBeNull();
  });

  it('asks a signed-out visitor to sign in and come back to /devices', async () => {
    stubRoutes({ '/auth/user': [401, { authenticated: false }] });
    const assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
    mount('/devices');
    await vi.waitFor(() => expect(byTestId('sign-in')).toHaveLength(1));
    byTestId('sign-in')[0]!.click();
    expect(assign).toHaveBeenCalledWith('/auth/login?returnTo=%2Fdevices');
  });
});
