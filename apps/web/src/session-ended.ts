import { useCallback } from 'preact/hooks';
import { classifyError } from './errors.ts';

/**
 * A page's first look at a failed call: when `error` means the session ended, it tells the app
 * (`onSessionEnded`, which then shows "Your session ended" instead of the page) and returns true,
 * so the page shows nothing of its own; otherwise false, and the page explains the error.
 */
export function useSessionEnded(onSessionEnded: () => void): (error: unknown) => boolean {
  return useCallback(
    (error: unknown): boolean => {
      if (classifyError(error) !== 'session-ended') return false;
      onSessionEnded();
      return true;
    },
    [onSessionEnded],
  );
}
