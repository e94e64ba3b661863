/**
 * Messages people understand, each with the one thing they can do next. Every notice is rendered
 * inside a live region owned by the page (see `StatusRegion`), so screen readers announce it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { classifyError, otherErrorMessage } from '../errors.ts';
import { isStepUpLoginUrl, STEP_UP_MESSAGES } from '../step-up.ts';

/** URL that starts a sign-in at the BFF and comes back to `returnTo` afterwards. */
export function signInUrl(returnTo: string): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** Props of {@link SignInButton}. */
export interface SignInButtonProps {
  /** Same-origin path to come back to after signing in (the BFF falls back to `/` otherwise). */
  returnTo: string;
  children?: ComponentChildren;
}

/**
 * Starts a sign-in with a full-page navigation (the BFF redirects to the IdP; `fetch` cannot
 * follow that). A button and `location.assign`, not a `<form>`: Chrome applies CSP `form-action`
 * to the redirect to the IdP, which a GET form would then trip over.
 */
export function SignInButton({ returnTo, children = 'Sign in' }: SignInButtonProps) {
  return (
    <button
      type="button"
      class="button primary"
      data-testid="sign-in"
      onClick={() => location.assign(signInUrl(returnTo))}
    >
      {children}
    </button>
  );
}

/**
 * A persistent `aria-live` container: it must exist before its content changes for the change
 * to be announced, so pages render it always and put notices inside.
 */
export function StatusRegion({ children }: { children?: ComponentChildren }) {
  return (
    <div class="status-region" aria-live="polite" aria-atomic="true">
      {children}
    </div>
  );
}

/**
 * Shown after `/?login_error=<code>`: our own sentence for the code, and a way to try again. A
 * signed-in user gets no "Try again" (`retry={false}`): a failed step-up left the session as it
 * was, and the sentence says what to do.
 */
export function LoginErrorNotice({
  message,
  returnTo,
  retry = true,
}: {
  message: string;
  returnTo: string;
  retry?: boolean;
}) {
  return (
    <div class="notice error" data-testid="login-error">
      <p>
        <strong>Sign-in failed.</strong> {message}
      </p>
      {retry && <SignInButton returnTo={returnTo}>Try again</SignInButton>}
    </div>
  );
}

/** Shown when the BFF answers 401: no automatic redirect, so no redirect loop. */
export function SessionEndedNotice({ returnTo }: { returnTo: string }) {
  return (
    <div class="notice warning" data-testid="session-ended">
      <p>
        <strong>Your session ended.</strong> Sign in again to continue.
      </p>
      <SignInButton returnTo={returnTo} />
    </div>
  );
}

/** Props of {@link StepUpNotice}. */
export interface StepUpNoticeProps {
  /** Our sentence for what needs the stronger sign-in (`STEP_UP_MESSAGES`), never the BFF's. */
  message: string;
  /** The BFF's step-up path; followed only if it passes `isStepUpLoginUrl` (checked again on click). */
  login: string;
  /** Called just before the navigation (e.g. to remember what to retry afterwards). */
  onContinue?: () => void;
  /** Offers "Cancel" when given. */
  onCancel?: () => void;
  /** Move focus to "Continue" when shown (after the user's own action, not on page load). */
  autoFocus?: boolean;
}

/**
 * Shown when a call answered 401 `step_up_required`: what is needed, in plain words, and
 * "Continue", a full navigation to the BFF's step-up sign-in (which comes back to this page).
 * The session is untouched meanwhile: "Cancel" just stays.
 */
export function StepUpNotice({ message, login, onContinue, onCancel, autoFocus = false }: StepUpNoticeProps) {
  const continueButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (autoFocus) continueButton.current?.focus();
  }, [autoFocus]);
  const followable = isStepUpLoginUrl(login);
  const onClick = () => {
    // Checked again at the moment of leaving: only ever our own login route.
    if (!isStepUpLoginUrl(login)) return;
    onContinue?.();
    location.assign(login);
  };
  return (
    <div class="notice warning" data-testid="step-up-required">
      <p>
        <strong>Please sign in again.</strong> {message} You will come back to this page afterwards.
      </p>
      <div class="notice-actions">
        {followable && (
          <button
            type="button"
            class="button primary"
            data-testid="step-up-continue"
            ref={continueButton}
            onClick={onClick}
          >
            Continue
          </button>
        )}
        {onCancel && (
          <button type="button" class="button" data-testid="step-up-cancel" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}

/** Shown for 502/503/504 and network failures; `onRetry` repeats what failed. */
export function ServiceUnavailableNotice({ onRetry }: { onRetry?: () => void }) {
  return (
    <div class="notice error" data-testid="service-unavailable">
      <p>The service is unavailable, try again.</p>
      {onRetry && (
        <button type="button" class="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Any other failure, as a sentence chosen by the caller from the error code. */
export function ErrorNotice({ message }: { message: string }) {
  return (
    <div class="notice error" data-testid="error">
      <p>{message}</p>
    </div>
  );
}

/** Picks the right notice for a failed API call (see `classifyError`). */
export function ApiErrorNotice({
  error,
  returnTo,
  onRetry,
}: {
  error: unknown;
  returnTo: string;
  onRetry?: () => void;
}) {
  const kind = classifyError(error);
  if (kind === 'session-ended') return <SessionEndedNotice returnTo={returnTo} />;
  if (kind === 'step-up-required' && error instanceof ApiError && error.stepUpLogin) {
    return <StepUpNotice message={STEP_UP_MESSAGES.generic} login={error.stepUpLogin} />;
  }
  if (kind === 'service-unavailable') return <ServiceUnavailableNotice {...(onRetry ? { onRetry } : {})} />;
  return <ErrorNotice message={otherErrorMessage(error)} />;
}
