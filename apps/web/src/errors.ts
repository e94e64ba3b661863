/**
 * What an error means to the person in front of the screen. Decided by `ApiError.code` (never by
 * message text), so a new message from the BFF cannot change what the UI says.
 */
import { ApiError } from './api.ts';

/** The situations the UI explains differently. */
export type ErrorKind = 'session-ended' | 'step-up-required' | 'service-unavailable' | 'other';

const SESSION_ENDED: ReadonlySet<string> = new Set(['unauthenticated', 'session_expired']);
const UNAVAILABLE: ReadonlySet<string> = new Set([
  'upstream_unavailable',
  'upstream_timeout',
  'idp_unavailable',
  'network_error',
]);

/**
 * Sorts any thrown value into an {@link ErrorKind}; unknown throwables are `other`. A 401
 * `step_up_required` is no ended session (the session is untouched): it is `step-up-required`
 * when its `login` path can be followed, else `other` (nothing the user can do but try again).
 */
export function classifyError(error: unknown): ErrorKind {
  if (!(error instanceof ApiError)) return 'other';
  if (error.code === 'step_up_required') return error.stepUpLogin ? 'step-up-required' : 'other';
  if (error.status === 401 || SESSION_ENDED.has(error.code)) return 'session-ended';
  if (UNAVAILABLE.has(error.code) || [502, 503, 504].includes(error.status)) return 'service-unavailable';
  return 'other';
}

/** Sentence for errors of kind `other`, per code where the user can do something about it. */
export function otherErrorMessage(error: unknown): string {
  const code = error instanceof ApiError ? error.code : 'unexpected_response';
  switch (code) {
    case 'bad_request':
      return 'That was not accepted. Please check what you entered.';
    case 'payload_too_large':
      return 'That is too long. Please shorten it.';
    case 'csrf_required':
      return 'The request was refused for your safety. Please reload the page.';
    default:
      return 'Something went wrong. Please try again.';
  }
}
