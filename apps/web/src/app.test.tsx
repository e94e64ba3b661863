// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './app.tsx';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';
const SIGNED_IN = {
  authenticated: true,
  user: { sub: 'u1', name: 'Ada Lovelace', groups: ['Everyone', 'Admins'], leaked: TOKEN },
  session: { expiresAt: 1_900_000_000 },
};

/** Answers each same-origin path with the given status and JSON body. */
function stubRoutes(routes: Record<string, [status: number, body: unknown]>) {
  const fake = vi.fn(async (path: string) => {
    const route = routes[path];
    if (!route) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify(route[1]), { status: route[0] });
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}

let root: HTMLElement;
const byTestId = (id: string) => root.querySelectorAll(`[data-testid="${id}"]`);

function mount(url: string) {
  history.replaceState(null, '', url);
  render(<App />, root);
}

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

describe('App', () => {
  it('shows our own sentence for a login_error, never the URL text, and cleans the URL', async () => {
    stubRoutes({ '/auth/user': [401, { authenticated: false }] });
    mount(`/?login_error=${encodeURIComponent('<img src=x onerror=alert(1)><script>alert(1)</script>')}`);
    await vi.waitFor(() => expect(byTestId('login-error')).toHaveLength(1));
    expect(root.textContent).toContain('Sign-in did not complete');
    expect(root.textContent).not.toContain('alert');
    expect(root.querySelector('script, img')).toBeNull();
    expect(location.search).toBe('');
    // Exactly one sign-in button: the notice's "Try again".
    expect(byTestId('sign-in')).toHaveLength(1);
    expect(byTestId('sign-in')[0]?.textContent).toBe('Try again');
  });

  it('greets a signed-in user and offers navigation and sign-out', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN] });
    mount('/');
    await vi.waitFor(() => expect(byTestId('greeting')[0]?.textContent).toBe('Ada Lovelace'));
    const links = [...root.querySelectorAll('nav a')].map((a) => a.textContent);
    expect(links).toEqual(['Home', 'Profile', 'Items']);
    expect(byTestId('sign-out')).toHaveLength(1);
    expect(root.querySelectorAll('h1')).toHaveLength(1);
  });

  it('shows the claims table and session end, but no token-looking value', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN] });
    mount('/profile');
    await vi.waitFor(() => expect(byTestId('profile-table')).toHaveLength(1));
    expect(byTestId('profile-table')[0]?.textContent).toContain('Everyone, Admins');
    expect(byTestId('session-expires')[0]?.getAttribute('datetime')).toBe(
      new Date(1_900_000_000_000).toISOString(),
    );
    expect(root.innerHTML).not.toContain('eyJ');
  });

  it('asks a signed-out visitor of /items to sign in and come back there', async () => {
    stubRoutes({ '/auth/user': [401, { authenticated: false }] });
    const assign = vi.spyOn(location, 'assign').mockImplementation(() => {});
    mount('/items');
    await vi.waitFor(() => expect(byTestId('sign-in')).toHaveLength(1));
    (byTestId('sign-in')[0] as HTMLButtonElement).click();
    expect(assign).toHaveBeenCalledWith('/auth/login?returnTo=%2Fitems');
  });

  it('says "Your session ended" on a 401 from /api, without redirecting', async () => {
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [401, { error: 'session_expired', message: 'x' }],
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('session-ended')).toHaveLength(1));
    expect(byTestId('sign-out')).toHaveLength(0);
    expect(byTestId('sign-in')).toHaveLength(1);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('says the service is unavailable on a 504 from /api', async () => {
    stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [504, { error: 'upstream_timeout', message: 'x' }],
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('service-unavailable')).toHaveLength(1));
    expect(root.querySelector('[aria-live] [data-testid="service-unavailable"]')).not.toBeNull();
  });

  it('says the service is unavailable when the network fails', async () => {
    stubRoutes({});
    mount('/');
    await vi.waitFor(() => expect(byTestId('service-unavailable')).toHaveLength(1));
  });
});
