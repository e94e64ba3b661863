// @vitest-environment happy-dom
/**
 * The session-expiry banner in the app shell, with the watcher's clock injected (`fakeClock`):
 * time moves only when a test advances it, so no test waits on a real timer.
 */
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listItems } from './api.ts';
import { App } from './app.tsx';
import { formatClockTime } from './components/session-expiry-banner.tsx';
import { EXPIRY_GRACE_MS } from './session-expiry.ts';
import { type FakeClock, fakeClock } from './testing/fake-clock.ts';
import { fakeSockets } from './testing/fake-socket.ts';

const MINUTE = 60_000;
const T0 = 1_900_000_000_000;
/** Epoch seconds `ms` after T0, as the BFF sends times. */
const at = (ms: number) => (T0 + ms) / 1000;

function signedIn(session: Record<string, unknown>) {
  return { authenticated: true, user: { sub: 'u1', name: 'Ada Lovelace' }, session };
}
/** Idles out in 30 minutes, ends in 8 hours, signed in with a second factor 2 minutes ago. */
const SESSION = {
  expiresAt: at(8 * 60 * MINUTE),
  idleExpiresAt: at(30 * MINUTE),
  acr: 'urn:okta:loa:2fa:any',
  authTime: at(-2 * MINUTE),
};

type Answer = readonly [status: number, body: unknown];

/** Answers each path with the route's current answer (a function's, for changing ones); records every call. */
function stubRoutes(routes: Record<string, Answer | (() => Answer)>) {
  const fake = vi.fn(async (path: string, _init?: RequestInit) => {
    const entry = routes[path];
    const answer = typeof entry === 'function' ? entry() : entry;
    if (!answer) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify(answer[1]), { status: answer[0] });
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}
const userFetches = (fetch: ReturnType<typeof stubRoutes>) =>
  fetch.mock.calls.filter(([path]) => path === '/auth/user').length;

let root: HTMLElement;
let clock: FakeClock;
const byTestId = (id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const banner = () => byTestId('session-expiry')[0];
/** Lets Preact render what the last change scheduled. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function mount(url: string) {
  history.replaceState(null, '', url);
  render(<App openSocket={fakeSockets().open} clock={clock} />, root);
}

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
  clock = fakeClock(T0);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

describe('the idle warning', () => {
  it('appears 5 minutes before the idle end, in a status region, with a real "Stay signed in" button', async () => {
    stubRoutes({
      '/auth/user': [200, signedIn(SESSION)],
      '/api/public/notices': [200, { status: 'ok', notices: [] }],
    });
    mount('/');
    await vi.waitFor(() => expect(byTestId('greeting')).toHaveLength(1));
    const region = root.querySelector('main [role="status"]');
    expect(region).not.toBeNull();
    expect(region?.textContent).toBe('');

    clock.advance(25 * MINUTE - 1);
    await settle();
    expect(banner()).toBeUndefined();
    clock.advance(1);
    await vi.waitFor(() =>
      expect(banner()?.textContent).toContain('You will be signed out in 5 minutes because of inactivity.'),
    );
    expect(region?.contains(banner() ?? null)).toBe(true);
    const stay = byTestId('stay-signed-in')[0];
    expect(stay?.tagName).toBe('BUTTON');
    expect(stay?.getAttribute('type')).toBe('button');
    expect(byTestId('sign-in-again')).toHaveLength(0);

    clock.advance(MINUTE);
    await vi.waitFor(() => expect(banner()?.textContent).toContain('signed out in 4 minutes'));
  });

  it('"Stay signed in" asks /auth/user again (renewing the idle clock) and hides the warning', async () => {
    let session = SESSION;
    const fetch = stubRoutes({ '/auth/user': () => [200, signedIn(session)] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    clock.advance(27 * MINUTE);
    await vi.waitFor(() => expect(byTestId('stay-signed-in')).toHaveLength(1));
    expect(userFetches(fetch)).toBe(1);

    session = { ...SESSION, idleExpiresAt: at(57 * MINUTE) };
    byTestId('stay-signed-in')[0]?.click();
    await vi.waitFor(() => expect(banner()).toBeUndefined());
    expect(userFetches(fetch)).toBe(2);
    expect(byTestId('session-idle-expires')[0]?.getAttribute('datetime')).toBe(
      new Date(T0 + 57 * MINUTE).toISOString(),
    );
    // And it comes back 5 minutes before the new idle end.
    clock.advance(25 * MINUTE);
    await vi.waitFor(() => expect(banner()?.textContent).toContain('in 5 minutes'));
  });

  it('says so, and keeps the button, when "Stay signed in" cannot reach the BFF', async () => {
    let reachable = true;
    stubRoutes({
      '/auth/user': () => {
        if (!reachable) throw new TypeError('Failed to fetch');
        return [200, signedIn(SESSION)];
      },
    });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    clock.advance(26 * MINUTE);
    await vi.waitFor(() => expect(byTestId('stay-signed-in')).toHaveLength(1));
    reachable = false;
    byTestId('stay-signed-in')[0]?.click();
    await vi.waitFor(() => expect(byTestId('stay-failed')).toHaveLength(1));
    expect(byTestId('stay-signed-in')).toHaveLength(1);
  });

  it("goes after the user's own successful /api call, which renewed the idle clock", async () => {
    stubRoutes({ '/auth/user': [200, signedIn(SESSION)], '/api/items': [200, []] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    clock.advance(26 * MINUTE);
    await vi.waitFor(() => expect(byTestId('stay-signed-in')).toHaveLength(1));
    await listItems();
    await vi.waitFor(() => expect(banner()).toBeUndefined());
    // The idle window last seen was 30 minutes, from now.
    expect(byTestId('session-idle-expires')[0]?.getAttribute('datetime')).toBe(
      new Date(T0 + 56 * MINUTE).toISOString(),
    );
  });

  it('is not shown by an older BFF that does not send the idle end', async () => {
    stubRoutes({ '/auth/user': [200, signedIn({ expiresAt: at(60 * MINUTE) })] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    clock.advance(50 * MINUTE);
    await settle();
    expect(banner()).toBeUndefined();
    expect(byTestId('session-idle-expires')).toHaveLength(0);
    expect(byTestId('sign-in-method')[0]?.textContent).toBe('in a way the identity provider did not state');
    expect(byTestId('auth-time')[0]?.textContent).toBe('an unknown time');
  });
});

describe('the absolute end', () => {
  it('is announced with its time and "Sign in again" back to this page, and no way to stay', async () => {
    const session = { ...SESSION, expiresAt: at(12 * MINUTE), idleExpiresAt: at(12 * MINUTE) };
    stubRoutes({ '/auth/user': [200, signedIn(session)] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    clock.advance(7 * MINUTE);
    const endsAt = formatClockTime(T0 + 12 * MINUTE);
    await vi.waitFor(() =>
      expect(banner()?.textContent).toBe(
        `Your session ends at ${endsAt}. Sign in again to continue.Sign in again`,
      ),
    );
    expect(byTestId('stay-signed-in')).toHaveLength(0);
    const link = byTestId('sign-in-again')[0];
    expect(link?.tagName).toBe('A');
    expect(link?.getAttribute('href')).toBe('/auth/login?returnTo=%2Fprofile');
    expect(root.querySelector('[role="status"] [data-testid="session-expiry"]')).not.toBeNull();
  });
});

describe('after the end', () => {
  it('asks /auth/user again and, on its 401, treats the user as signed out like a 401 from /api', async () => {
    let answer: Answer = [200, signedIn(SESSION)];
    const fetch = stubRoutes({ '/auth/user': () => answer });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    answer = [401, { authenticated: false }];
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS - 1);
    await settle();
    expect(userFetches(fetch)).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(byTestId('session-ended')).toHaveLength(1));
    expect(userFetches(fetch)).toBe(2);
    expect(byTestId('sign-out')).toHaveLength(0);
    expect(byTestId('profile-table')).toHaveLength(0);
    expect(banner()).toBeUndefined();
    // Signed out: nothing is watched any more.
    expect(clock.pending()).toEqual([]);
  });

  it('stays signed in when the BFF says the session is still alive (another tab kept it)', async () => {
    let session = SESSION;
    stubRoutes({ '/auth/user': () => [200, signedIn(session)] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    session = { ...SESSION, idleExpiresAt: at(50 * MINUTE) };
    clock.advance(30 * MINUTE + EXPIRY_GRACE_MS);
    await vi.waitFor(() =>
      expect(byTestId('session-idle-expires')[0]?.getAttribute('datetime')).toBe(
        new Date(T0 + 50 * MINUTE).toISOString(),
      ),
    );
    expect(byTestId('session-ended')).toHaveLength(0);
    expect(banner()).toBeUndefined();
  });
});

describe('the profile page', () => {
  it('shows the end, the idle end, and how and when the user signed in', async () => {
    stubRoutes({ '/auth/user': [200, signedIn(SESSION)] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    const datetime = (id: string) => byTestId(id)[0]?.getAttribute('datetime');
    expect(datetime('session-expires')).toBe(new Date(T0 + 8 * 60 * MINUTE).toISOString());
    expect(datetime('session-idle-expires')).toBe(new Date(T0 + 30 * MINUTE).toISOString());
    expect(datetime('auth-time')).toBe(new Date(T0 - 2 * MINUTE).toISOString());
    expect(byTestId('auth-time')[0]?.textContent).toBe(new Date(T0 - 2 * MINUTE).toLocaleString());
    expect(byTestId('sign-in-method')[0]?.textContent).toBe('with a second factor');
  });

  it('shows an acr it has no words for as it came', async () => {
    stubRoutes({ '/auth/user': [200, signedIn({ ...SESSION, acr: 'urn:okta:loa:1fa:any' })] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    expect(byTestId('sign-in-method')[0]?.textContent).toBe('with urn:okta:loa:1fa:any');
    expect(byTestId('sign-in-method')[0]?.querySelector('code')?.textContent).toBe('urn:okta:loa:1fa:any');
  });
});
