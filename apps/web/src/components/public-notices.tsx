/**
 * The sample API's public notices (`/api/public/notices`), which need no sign-in: the BFF's
 * `public` route forwards them without a token. A failure only says they are unavailable: it
 * is never a reason to sign in again.
 */
import { useEffect, useState } from 'preact/hooks';
import { getPublicNotices, type PublicNotices as Notices } from '../api.ts';

type NoticesState = { status: 'loading' } | { status: 'loaded'; notices: Notices } | { status: 'failed' };

/** A section listing the service's public notices. */
export function PublicNotices() {
  const [state, setState] = useState<NoticesState>({ status: 'loading' });

  useEffect(() => {
    const controller = new AbortController();
    getPublicNotices(controller.signal).then(
      (notices) => setState({ status: 'loaded', notices }),
      () => {
        if (!controller.signal.aborted) setState({ status: 'failed' });
      },
    );
    return () => controller.abort();
  }, []);

  return (
    <section class="public-notices" aria-labelledby="public-notices-title">
      <h2 id="public-notices-title">Service notices</h2>
      {state.status === 'loading' && <p class="muted">Loading notices…</p>}
      {state.status === 'failed' && (
        <p class="muted" data-testid="public-notices-unavailable">
          Service notices are unavailable right now.
        </p>
      )}
      {state.status === 'loaded' && (
        <>
          <p class="muted" data-testid="service-status">
            Service status: {state.notices.status}
          </p>
          {state.notices.notices.length === 0 ? (
            <p class="muted">No notices.</p>
          ) : (
            <ul class="notice-list" data-testid="public-notices">
              {state.notices.notices.map((notice) => (
                <li key={notice.id}>
                  <strong>{notice.title}</strong>{' '}
                  <time class="muted" dateTime={notice.publishedAt}>
                    {formatDay(notice.publishedAt)}
                  </time>
                  <p>{notice.text}</p>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function formatDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleDateString();
}
