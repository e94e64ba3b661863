/**
 * The application shell: landmarks, the session, and which page to show. The session comes from
 * `GET /auth/user` at start; it changes on sign-out, when the BFF says it ended, and when it is
 * asked again: "Stay signed in", or once the session-expiry watcher (`session-expiry.ts`) sees
 * its end pass (a 401 then is handled like a 401 from `/api`).
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Session } from './api.ts';
import { getUser, logout, onApiActivity, sessionsSupported } from './api.ts';
import { ApiErrorNotice, StatusRegion } from './components/notices.tsx';
import { SessionExpiryBanner } from './components/session-expiry-banner.tsx';
import { classifyError } from './errors.ts';
import type { OpenSocket } from './live-items.ts';
import { takeLoginError } from './login-error.ts';
import { DevicesPage } from './pages/devices.tsx';
import { HomePage } from './pages/home.tsx';
import { ItemsPage } from './pages/items.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { APP_NAME, PageTitle } from './pages/page-title.tsx';
import { ProfilePage } from './pages/profile.tsx';
import { SignInPrompt } from './pages/sign-in-prompt.tsx';
import { Link, usePathname } from './router.tsx';
import { type ExpiryClock, type ExpiryState, NO_EXPIRY, watchSessionExpiry } from './session-expiry.ts';
import { clearPendingDelete } from './step-up.ts';

type SessionState =
  | { status: 'loading' }
  | { status: 'ready'; session: Session }
  | { status: 'failed'; error: unknown };

/** Pages reachable from the navigation; all of them need a session. */
const NAV_LINKS = [
  { href: '/', label: 'Home' },
  { href: '/profile', label: 'Profile' },
  { href: '/items', label: 'Items' },
] as const;
/** Shown only when the BFF lists sessions (`GET /auth/sessions` does not answer 501). */
const DEVICES_LINK = { href: '/devices', label: 'Devices' } as const;

/** Props of {@link App}; the browser's defaults when absent. */
export interface AppProps {
  /** Opens the items page's live socket (default: `WebSocket`); tests pass a fake. */
  openSocket?: OpenSocket;
  /** The session-expiry watcher's clock and timers (default: the browser's); tests pass a fake. */
  clock?: ExpiryClock;
}

/** The whole SPA. */
export function App({ openSocket, clock }: AppProps = {}) {
  const pathname = usePathname();
  // Read once: takeLoginError also removes the parameter from the address bar. A failed sign-in
  // (a step-up included) leaves no delete waiting to be offered on the items page.
  const [loginError] = useState(() => {
    const message = takeLoginError();
    if (message !== null) clearPendingDelete();
    return message;
  });
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const [sessionEnded, setSessionEnded] = useState(false);
  const [signOutError, setSignOutError] = useState<unknown>(null);
  const [devicesOffered, setDevicesOffered] = useState(false);

  const loadSession = useCallback(() => {
    setState({ status: 'loading' });
    getUser().then(
      (session) => setState({ status: 'ready', session }),
      (error: unknown) => setState({ status: 'failed', error }),
    );
  }, []);
  useEffect(loadSession, []);

  const onSessionEnded = useCallback(() => {
    setSessionEnded(true);
    setState({ status: 'ready', session: { signedIn: false } });
  }, []);

  /**
   * Asks `GET /auth/user` again (which renews the idle clock): signed in → the new times, signed
   * out → the same path as a 401 from `/api`. A failure changes nothing; the caller decides.
   */
  const refreshSession = useCallback(
    (): Promise<void> =>
      getUser().then((session) => {
        if (session.signedIn) setState({ status: 'ready', session });
        else onSessionEnded();
      }),
    [onSessionEnded],
  );

  // The session-expiry watcher: one per App, fed each answer of /auth/user and each /api success.
  const [expiry, setExpiry] = useState<ExpiryState>(NO_EXPIRY);
  const [watcher] = useState(() =>
    watchSessionExpiry({
      ...clock,
      onChange: setExpiry,
      // The end passed: ask the BFF. On failure the watcher asks again a minute later.
      onEnded: () => {
        refreshSession().catch(() => {});
      },
    }),
  );
  useEffect(() => {
    const unsubscribe = onApiActivity(() => watcher.activity());
    return () => {
      unsubscribe();
      watcher.stop();
    };
  }, [watcher]);
  const current = state.status === 'ready' ? state.session : null;
  // A layout effect: the new times are shown in the same frame as the session that brought them.
  useLayoutEffect(() => {
    if (current?.signedIn) watcher.update(current);
    else watcher.clear();
  }, [current, watcher]);

  const [stay, setStay] = useState<'idle' | 'busy' | 'failed'>('idle');
  const onStay = () => {
    if (stay === 'busy') return;
    setStay('busy');
    refreshSession().then(
      () => setStay('idle'),
      (error: unknown) => {
        setStay('idle');
        if (classifyError(error) === 'session-ended') onSessionEnded();
        else setStay('failed');
      },
    );
  };
  // A failed "Stay" is forgotten once the warning has gone.
  const idleNotice = expiry.notice?.kind === 'idle';
  useEffect(() => {
    if (!idleNotice) setStay('idle');
  }, [idleNotice]);

  const onSignOut = () => {
    setSignOutError(null);
    logout().catch((error: unknown) => {
      if (classifyError(error) === 'session-ended') onSessionEnded();
      else setSignOutError(error);
    });
  };

  // After an in-app navigation, move focus to the new page's heading (not on first load).
  const firstPath = useRef(pathname);
  useEffect(() => {
    if (pathname !== firstPath.current) document.getElementById('page-title')?.focus();
    firstPath.current = '';
  }, [pathname]);

  const signedIn = state.status === 'ready' && state.session.signedIn;
  // Once signed in: does this BFF list sessions (Redis store) or answer 501 (cookie store)?
  useEffect(() => {
    if (!signedIn) return;
    const controller = new AbortController();
    sessionsSupported(controller.signal).then(setDevicesOffered, () => {});
    return () => controller.abort();
  }, [signedIn]);
  const navLinks = devicesOffered ? [...NAV_LINKS, DEVICES_LINK] : NAV_LINKS;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header">
        <div class="container header-row">
          <Link href="/" class="brand">
            {APP_NAME}
          </Link>
          {signedIn && (
            <nav aria-label="Main">
              <ul>
                {navLinks.map((link) => (
                  <li key={link.href}>
                    <Link href={link.href} {...(link.href === pathname ? { 'aria-current': 'page' } : {})}>
                      {link.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {signedIn && (
            <button type="button" class="button" data-testid="sign-out" onClick={onSignOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" class="container">
        <SessionExpiryBanner
          notice={signedIn ? expiry.notice : null}
          returnTo={pathname}
          onStay={onStay}
          stayFailed={stay === 'failed'}
        />
        <StatusRegion>
          {signOutError !== null && <ApiErrorNotice error={signOutError} returnTo={pathname} />}
        </StatusRegion>
        {renderPage()}
      </main>
      <footer class="site-footer">
        <div class="container muted">
          Tokens stay on the server. This page only ever talks to its own origin.
        </div>
      </footer>
    </>
  );

  function renderPage() {
    if (state.status === 'loading') {
      return (
        <>
          <PageTitle title="Loading…" />
          <StatusRegion>
            <p class="muted">Checking your session…</p>
          </StatusRegion>
        </>
      );
    }
    if (state.status === 'failed') {
      return (
        <>
          <PageTitle title="Something went wrong" />
          <StatusRegion>
            <ApiErrorNotice error={state.error} returnTo={pathname} onRetry={loadSession} />
          </StatusRegion>
        </>
      );
    }
    const { session } = state;
    if (pathname === '/') return <HomePage session={session} loginError={loginError} />;
    if (pathname !== '/profile' && pathname !== '/items' && pathname !== '/devices') return <NotFoundPage />;
    if (!session.signedIn) return <SignInPrompt returnTo={pathname} sessionEnded={sessionEnded} />;
    if (pathname === '/profile') {
      return (
        <ProfilePage
          user={session.user}
          endsAt={expiry.endsAt}
          idleEndsAt={expiry.idleEndsAt}
          acr={session.acr}
          authTime={session.authTime}
        />
      );
    }
    if (pathname === '/devices') return <DevicesPage onSessionEnded={onSessionEnded} onSignOut={onSignOut} />;
    return <ItemsPage onSessionEnded={onSessionEnded} {...(openSocket ? { openSocket } : {})} />;
  }
}
