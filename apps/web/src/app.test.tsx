// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './app.tsx';
import { fakeSockets } from './testing/fake-socket.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';
const SIGNED_IN = {
  authenticated: true,
  user: { sub: 'u1', name: 'Ada Lovelace', groups: ['Everyone', 'Admins'], leaked: TOKEN },
  session: { expiresAt: 1_900_000_000 },
};

/** Answers each same-origin path with the given status and JSON body (or a function's answer, for changing ones). */
function stubRoutes(
  routes: Record<string, [status: number, body: unknown] | (() => [status: number, body: unknown])>,
) {
  const fake = vi.fn(async (path: string, _init?: RequestInit) => {
    const entry = routes[path];
    const route = typeof entry === 'function' ? entry() : entry;
    if (!route) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify(route[1]), { status: route[0] });
  });
  vi.stubGlobal('fetch', fake);
  return fake;
}

let root: HTMLElement;
/** The items page's live sockets: fakes, injected into the App (no real socket is ever opened). */
let sockets: ReturnType<typeof fakeSockets>;
const byTestId = (id: string) => root.querySelectorAll(`[data-testid="${id}"]`);
const itemNames = () =>
  [...root.querySelectorAll('[data-testid="items-list"] .item-name')].map((e) => e.textContent);

function mount(url: string) {
  history.replaceState(null, '', url);
  render(<App openSocket={sockets.open} />, root);
}

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
  sockets = fakeSockets();
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
    // Besides the Devices link's probe of `/auth/sessions`.
    expect(fetchedPaths(fetch).filter((path) => path !== '/auth/sessions')).toHaveLength(2);
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

const item = (id: string, name: string) => ({ id, name, createdAt: '2025-01-01T00:00:00.000Z' });
const fetchedPaths = (fetch: ReturnType<typeof stubRoutes>) => fetch.mock.calls.map((call) => call[0]);

describe('the items page and its live socket', () => {
  it('renders the HTTP list first, then every list the socket sends, without fetching again', async () => {
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk')] }],
      '/api/stats': [200, { totalItems: 5, usersWithItems: 2 }],
    });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    const socket = sockets.latest();
    expect(socket.url).toBe(`ws://${location.host}/api/live`);
    expect(byTestId('live-status')[0]?.getAttribute('data-state')).toBe('connecting');
    socket.open();
    await vi.waitFor(() => expect(byTestId('live-status')[0]?.getAttribute('data-state')).toBe('live'));

    // Another tab added bread: the socket says so.
    socket.receive({ type: 'items', items: [item('1', 'milk'), item('2', 'bread')] });
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk', 'bread']));
    expect(fetchedPaths(fetch).filter((p) => p === '/api/items')).toHaveLength(1);
    expect(sockets.sockets).toHaveLength(1);
    await vi.waitFor(() =>
      expect(byTestId('site-stats')[0]?.textContent).toBe('Across the site: 5 items kept by 2 users.'),
    );
  });

  it('keeps a list from the socket over an HTTP answer that arrives later', async () => {
    let answerItems: (response: Response) => void = () => {};
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string) => {
        if (path === '/auth/user') return new Response(JSON.stringify(SIGNED_IN));
        if (path === '/api/items') return new Promise<Response>((resolve) => (answerItems = resolve));
        throw new TypeError('Failed to fetch');
      }),
    );
    mount('/items');
    await vi.waitFor(() => expect(sockets.sockets).toHaveLength(1));
    sockets.latest().receive({ type: 'items', items: [item('1', 'milk'), item('2', 'bread')] });
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk', 'bread']));
    answerItems(new Response(JSON.stringify({ items: [item('1', 'milk')] })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(itemNames()).toEqual(['milk', 'bread']);
  });

  it('treats close 4401 as signed out, like a 401 from /api', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/items': [200, { items: [] }] });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('items-list')).toHaveLength(1));
    sockets.latest().closeFromServer(4401);
    await vi.waitFor(() => expect(byTestId('session-ended')).toHaveLength(1));
    expect(byTestId('sign-out')).toHaveLength(0);
    expect(sockets.sockets).toHaveLength(1);
  });

  it('on another close, says live updates are paused, reads the list over HTTP, and retries on request', async () => {
    let served = [item('1', 'milk')];
    const fetch = stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': () => [200, { items: served }],
    });
    mount('/items');
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk']));
    served = [item('1', 'milk'), item('2', 'bread')];
    sockets.latest().closeFromServer(1011);
    await vi.waitFor(() => expect(byTestId('live-paused')).toHaveLength(1));
    await vi.waitFor(() => expect(itemNames()).toEqual(['milk', 'bread']));
    expect(fetchedPaths(fetch).filter((p) => p === '/api/items')).toHaveLength(2);
    expect(root.querySelector('[aria-live] [data-testid="live-paused"]')).not.toBeNull();

    byTestId('live-paused')[0]!.querySelector('button')!.click();
    expect(sockets.sockets).toHaveLength(2);
    await vi.waitFor(() => expect(byTestId('live-paused')).toHaveLength(0));
    sockets.latest().receive({ type: 'items', items: [item('3', 'eggs')] });
    await vi.waitFor(() => expect(itemNames()).toEqual(['eggs']));
  });

  it('a paused socket whose HTTP fallback gets a 401 ends the session', async () => {
    let itemsAnswer: [number, unknown] = [200, { items: [] }];
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/items': () => itemsAnswer });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('items-list')).toHaveLength(1));
    itemsAnswer = [401, { error: 'unauthenticated', message: 'x' }];
    // A handshake the BFF refused (no session) reaches the page as 1006.
    sockets.latest().closeFromServer(1006);
    await vi.waitFor(() => expect(byTestId('session-ended')).toHaveLength(1));
  });

  it('closes the socket on leaving the page', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/items': [200, { items: [] }] });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('items-list')).toHaveLength(1));
    render(null, root);
    expect(sockets.latest().closedWith).toBe(1000);
  });

  it('does not add an item twice when the socket already delivered it', async () => {
    const milk = item('1', 'milk');
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/items': [200, { items: [] }] });
    const fetch = vi.mocked(globalThis.fetch);
    fetch.mockImplementation(async (input, init) => {
      if (input === '/api/items' && init?.method === 'POST') {
        // The API tells the socket before it answers the POST.
        sockets.latest().receive({ type: 'items', items: [milk] });
        return new Response(JSON.stringify(milk), { status: 201 });
      }
      if (input === '/auth/user') return new Response(JSON.stringify(SIGNED_IN));
      if (input === '/api/items') return new Response(JSON.stringify({ items: [] }));
      throw new TypeError('Failed to fetch');
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('items-list')).toHaveLength(1));
    const input = byTestId('item-name-input')[0] as HTMLInputElement;
    input.value = 'milk';
    input.dispatchEvent(new Event('input'));
    // Let Preact render the typed name before submitting.
    await new Promise((resolve) => setTimeout(resolve, 10));
    (byTestId('add-item')[0] as HTMLButtonElement).click();
    await vi.waitFor(() => expect(root.textContent).toContain('Added “milk”'));
    expect(itemNames()).toEqual(['milk']);
  });

  it('says the site statistics are unavailable when /api/stats fails, and still shows the list', async () => {
    stubRoutes({
      '/auth/user': [200, SIGNED_IN],
      '/api/items': [200, { items: [item('1', 'milk')] }],
      '/api/stats': [502, { error: 'upstream_unavailable', message: 'x' }],
    });
    mount('/items');
    await vi.waitFor(() => expect(byTestId('site-stats-unavailable')).toHaveLength(1));
    expect(itemNames()).toEqual(['milk']);
    expect(byTestId('service-unavailable')).toHaveLength(0);
  });
});

describe('public notices on the home page', () => {
  const NOTICES = {
    status: 'operational',
    notices: [
      {
        id: 'a',
        title: 'Maintenance <b>tonight</b>',
        text: 'Short <script>x</script> outage.',
        publishedAt: '2025-06-01T00:00:00Z',
      },
    ],
  };

  it('shows them signed out, fetched with X-CSRF: 1, as text', async () => {
    const fetch = stubRoutes({
      '/auth/user': [401, { authenticated: false }],
      '/api/public/notices': [200, NOTICES],
    });
    mount('/');
    await vi.waitFor(() => expect(byTestId('public-notices')).toHaveLength(1));
    expect(byTestId('public-notices')[0]?.textContent).toContain('Maintenance <b>tonight</b>');
    expect(root.querySelector('script, b')).toBeNull();
    expect(byTestId('service-status')[0]?.textContent).toBe('Service status: operational');
    const call = fetch.mock.calls.find((c) => c[0] === '/api/public/notices');
    expect(new Headers(call?.[1]?.headers).get('x-csrf')).toBe('1');
    expect(byTestId('sign-in')).toHaveLength(1);
  });

  it('shows them signed in too', async () => {
    stubRoutes({ '/auth/user': [200, SIGNED_IN], '/api/public/notices': [200, NOTICES] });
    mount('/');
    await vi.waitFor(() => expect(byTestId('public-notices')).toHaveLength(1));
    expect(root.querySelectorAll('h1')).toHaveLength(1);
  });

  it('says they are unavailable on failure, never that the session ended', async () => {
    stubRoutes({
      '/auth/user': [401, { authenticated: false }],
      '/api/public/notices': [401, { error: 'unauthenticated', message: 'x' }],
    });
    mount('/');
    await vi.waitFor(() => expect(byTestId('public-notices-unavailable')).toHaveLength(1));
    expect(byTestId('session-ended')).toHaveLength(0);
  });
});
