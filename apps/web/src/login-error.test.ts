import { LOGIN_ERROR_CODES } from '@okta-bff/oidc/wire';
import { describe, expect, it, vi } from 'vitest';
import {
  GENERIC_LOGIN_ERROR_MESSAGE,
  LOGIN_ERROR_MESSAGES,
  loginErrorMessage,
  takeLoginError,
  type UrlHost,
} from './login-error.ts';

function fakeHost(href: string) {
  const replaceState = vi.fn();
  const host: UrlHost = { location: { href }, history: { replaceState, state: null } };
  return { host, replaceState };
}

describe('loginErrorMessage', () => {
  it.each(LOGIN_ERROR_CODES)('has its own sentence for %s', (code) => {
    expect(loginErrorMessage(code)).toBe(LOGIN_ERROR_MESSAGES[code]);
    expect(loginErrorMessage(code)).not.toBe(GENERIC_LOGIN_ERROR_MESSAGE);
  });

  it.each(['nope', '', 'toString', '__proto__', 'constructor'])(
    'says the generic sentence for %j',
    (code) => {
      expect(loginErrorMessage(code)).toBe(GENERIC_LOGIN_ERROR_MESSAGE);
    },
  );

  it('never echoes markup from the code', () => {
    const payload = '<img src=x onerror=alert(1)><script>alert(1)</script>';
    const message = loginErrorMessage(payload);
    expect(message).toBe(GENERIC_LOGIN_ERROR_MESSAGE);
    expect(message).not.toContain('<');
  });
});

describe('takeLoginError', () => {
  it('returns the message and removes only the parameter from the URL', () => {
    const { host, replaceState } = fakeHost('http://localhost:8000/?login_error=access_denied&x=1#top');
    expect(takeLoginError(host)).toBe(LOGIN_ERROR_MESSAGES.access_denied);
    expect(replaceState).toHaveBeenCalledWith(null, '', '/?x=1#top');
  });

  it('maps a script payload to the generic message and still cleans the URL', () => {
    const { host, replaceState } = fakeHost(
      `http://localhost:8000/?login_error=${encodeURIComponent('<script>alert(1)</script>')}`,
    );
    expect(takeLoginError(host)).toBe(GENERIC_LOGIN_ERROR_MESSAGE);
    expect(replaceState).toHaveBeenCalledWith(null, '', '/');
  });

  it('does nothing without the parameter', () => {
    const { host, replaceState } = fakeHost('http://localhost:8000/items?q=1');
    expect(takeLoginError(host)).toBeNull();
    expect(replaceState).not.toHaveBeenCalled();
  });
});

describe('step-up sign-in failures', () => {
  it.each([
    [
      'step_up_failed',
      'The sign-in did not reach the required strength (a second factor). Your previous session is still active.',
    ],
    ['step_up_invalid', 'That step-up link has expired or was already used. Try the action again.'],
  ])('%s has its sentence', (code, sentence) => {
    expect(loginErrorMessage(code)).toBe(sentence);
    const { host } = fakeHost(`http://localhost:8000/?login_error=${code}`);
    expect(takeLoginError(host)).toBe(sentence);
  });
});
