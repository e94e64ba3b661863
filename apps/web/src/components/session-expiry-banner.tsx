/**
 * The non-modal warning that the session is about to end (see `session-expiry.ts`). It never takes
 * focus: a `role="status"` region, always rendered so that screen readers announce what appears
 * in it, and real controls the user can reach when they choose to.
 */
import type { ExpiryNotice } from '../session-expiry.ts';
import { signInUrl } from './notices.tsx';

/** A time of day on the user's clock and in their locale's way, hours and minutes ("14:05", "2:05 PM"). */
export function formatClockTime(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Props of {@link SessionExpiryBanner}. */
export interface SessionExpiryBannerProps {
  /** What to say; `null`: nothing (the region stays, empty). */
  notice: ExpiryNotice | null;
  /** Same-origin path to come back to after "Sign in again". */
  returnTo: string;
  /** "Stay signed in": renew the idle clock (`GET /auth/user`). */
  onStay: () => void;
  /** The last "Stay signed in" did not reach the BFF. */
  stayFailed?: boolean;
}

/**
 * Idle end near: "You will be signed out in N minutes because of inactivity." and "Stay signed in".
 * Absolute end near: "Your session ends at HH:MM. Sign in again to continue." and a "Sign in again"
 * link; no "Stay": nothing extends that end.
 */
export function SessionExpiryBanner({
  notice,
  returnTo,
  onStay,
  stayFailed = false,
}: SessionExpiryBannerProps) {
  return (
    <div role="status" class="session-expiry-region">
      {notice?.kind === 'idle' && (
        <div class="notice warning" data-testid="session-expiry" data-kind="idle">
          <p>
            You will be signed out in {notice.minutesLeft} {notice.minutesLeft === 1 ? 'minute' : 'minutes'}{' '}
            because of inactivity.
          </p>
          {stayFailed && <p data-testid="stay-failed">The service could not be reached. Please try again.</p>}
          <button type="button" class="button primary" data-testid="stay-signed-in" onClick={onStay}>
            Stay signed in
          </button>
        </div>
      )}
      {notice?.kind === 'absolute' && (
        <div class="notice warning" data-testid="session-expiry" data-kind="absolute">
          <p>
            Your session ends at{' '}
            <time dateTime={new Date(notice.endsAt).toISOString()}>{formatClockTime(notice.endsAt)}</time>.
            Sign in again to continue.
          </p>
          <a class="button primary" data-testid="sign-in-again" href={signInUrl(returnTo)}>
            Sign in again
          </a>
        </div>
      )}
    </div>
  );
}
