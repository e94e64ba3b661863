import { useCallback, useEffect, useState } from 'preact/hooks';
import type { DeviceSession } from '../api.ts';
import { ApiError, endOtherSessions, endSession, listSessions } from '../api.ts';
import { ApiErrorNotice, StatusRegion } from '../components/notices.tsx';
import { useSessionEnded } from '../session-ended.ts';
import { PageTitle } from './page-title.tsx';

type ListState =
  | { status: 'loading' }
  | { status: 'loaded'; sessions: DeviceSession[] }
  | { status: 'unsupported' }
  | { status: 'failed'; error: unknown };

/** Props of {@link DevicesPage}. */
export interface DevicesPageProps {
  /** Called on a 401: the app then shows "Your session ended" instead of this page. */
  onSessionEnded: () => void;
  /** Signs this browser out (the app's sign-out: the BFF's logout, then the IdP's). */
  onSignOut: () => void;
}

/**
 * `/devices`: where the user is signed in (`GET /auth/sessions`: device, signed in, last used,
 * "this device"), with a _Sign out_ per session and _Sign out everywhere else_. Signing another
 * session out ends it at once on every instance of the BFF; signing this one out is the app's
 * sign-out. The app links here only when the BFF has the list (not with the cookie store, 501).
 */
export function DevicesPage({ onSessionEnded, onSignOut }: DevicesPageProps) {
  const [list, setList] = useState<ListState>({ status: 'loading' });
  /** The session (id) or `others` being signed out, while the call is in flight. */
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  /** True when `error` ended the page: the session ended (the app takes over). */
  const ended = useSessionEnded(onSessionEnded);

  const load = useCallback(
    (signal?: AbortSignal, quiet = false) => {
      if (!quiet) setList({ status: 'loading' });
      listSessions(signal).then(
        (sessions) => setList({ status: 'loaded', sessions }),
        (error: unknown) => {
          if (signal?.aborted || ended(error)) return;
          if (error instanceof ApiError && error.code === 'not_supported') setList({ status: 'unsupported' });
          else setList({ status: 'failed', error });
        },
      );
    },
    [ended],
  );

  useEffect(() => {
    // Abort on leaving the page so a late answer cannot update an unmounted component.
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load]);

  const signOut = async (key: string, call: () => Promise<void>, message: string) => {
    setBusy(key);
    setActionError(null);
    setDone(null);
    try {
      await call();
      setDone(message);
    } catch (error) {
      if (ended(error)) return;
      // Already signed out (elsewhere, or it idled out): the list below says so once reloaded.
      if (!(error instanceof ApiError && error.code === 'not_found')) setActionError(error);
    } finally {
      setBusy(null);
    }
    load(undefined, true);
  };

  const sessions = list.status === 'loaded' ? list.sessions : [];
  const others = sessions.filter((s) => !s.current);
  return (
    <>
      <PageTitle title="Devices" />
      <p>Where you are signed in. Sign out any device you do not recognise or no longer use.</p>
      <StatusRegion>
        {list.status === 'loading' && <p class="muted">Loading your devices…</p>}
        {list.status === 'unsupported' && (
          <p class="muted" data-testid="devices-unsupported">
            This service cannot list where you are signed in.
          </p>
        )}
        {list.status === 'failed' && (
          <ApiErrorNotice error={list.error} returnTo="/devices" onRetry={() => load()} />
        )}
        {actionError !== null && <ApiErrorNotice error={actionError} returnTo="/devices" />}
        {done !== null && <p class="success">{done}</p>}
      </StatusRegion>
      {list.status === 'loaded' && (
        <>
          <div class="table-wrap">
            <table data-testid="devices-table">
              <caption>Your sessions</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((s) => (
                  <tr key={s.id} data-testid="device-row" data-current={s.current ? 'true' : 'false'}>
                    <th scope="row">
                      {s.device}
                      {s.current && (
                        <>
                          {' '}
                          <strong data-testid="this-device">(this device)</strong>
                        </>
                      )}
                    </th>
                    <td>
                      <Time epochS={s.createdAt} />
                    </td>
                    <td>
                      <Time epochS={s.lastSeenAt} />
                    </td>
                    <td>
                      {s.current ? (
                        <button type="button" class="button" data-testid="sign-out-this" onClick={onSignOut}>
                          Sign out
                        </button>
                      ) : (
                        <button
                          type="button"
                          class="button"
                          data-testid="sign-out-device"
                          disabled={busy !== null}
                          aria-label={`Sign out ${s.device}, last used ${formatTime(s.lastSeenAt)}`}
                          onClick={() => signOut(s.id, () => endSession(s.id), `Signed out ${s.device}.`)}
                        >
                          {busy === s.id ? 'Signing out…' : 'Sign out'}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {others.length > 0 ? (
            <button
              type="button"
              class="button"
              data-testid="sign-out-others"
              disabled={busy !== null}
              onClick={() => signOut('others', endOtherSessions, 'Signed out everywhere else.')}
            >
              {busy === 'others' ? 'Signing out…' : 'Sign out everywhere else'}
            </button>
          ) : (
            <p class="muted" data-testid="no-other-devices">
              You are not signed in anywhere else.
            </p>
          )}
        </>
      )}
    </>
  );
}

function Time({ epochS }: { epochS: number }) {
  const date = new Date(epochS * 1000);
  if (!Number.isFinite(date.getTime())) return <>an unknown time</>;
  return <time dateTime={date.toISOString()}>{date.toLocaleString()}</time>;
}

function formatTime(epochS: number): string {
  const date = new Date(epochS * 1000);
  return Number.isFinite(date.getTime()) ? date.toLocaleString() : 'at an unknown time';
}
