import { errors as jose } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { JwksUnavailableError } from './idp.ts';
import { classifyIdpFailure, isRateLimited, retryAfterOf } from './idp-failure.ts';

const answered = (status: number, headers: Record<string, string> = {}) =>
  new oauth.ResponseBodyError('server responded with an error', {
    cause: { error: status === 400 ? 'invalid_grant' : 'temporarily_unavailable' },
    response: new Response('{}', { status, headers }),
  });

describe('classifyIdpFailure: one classification for login, refresh and revocation', () => {
  it('calls no answer, a timeout, 5xx, 429 and an unreachable or failing JWKS "unavailable"', () => {
    expect(classifyIdpFailure(new DOMException('late', 'TimeoutError'))).toBe('unavailable');
    expect(classifyIdpFailure(new TypeError('fetch failed'))).toBe('unavailable');
    expect(classifyIdpFailure(answered(503))).toBe('unavailable');
    expect(classifyIdpFailure(answered(429))).toBe('unavailable');
    expect(classifyIdpFailure(new jose.JWKSTimeout())).toBe('unavailable');
    expect(classifyIdpFailure(new JwksUnavailableError('the JWKS endpoint answered 503'))).toBe(
      'unavailable',
    );
  });
  it('calls an OAuth error with a 4xx "refused", and an answer that does not validate "invalid_response"', () => {
    expect(classifyIdpFailure(answered(400))).toBe('refused');
    expect(classifyIdpFailure(new jose.JWSSignatureVerificationFailed())).toBe('invalid_response');
    expect(classifyIdpFailure(new Error('the refreshed ID token names another subject'))).toBe(
      'invalid_response',
    );
  });
  it('reads Retry-After (seconds or a date, clamped to 1..300) and knows a rate limit', () => {
    expect(retryAfterOf(answered(429, { 'retry-after': '7' }))).toBe(7);
    expect(retryAfterOf(answered(503, { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' }))).toBe(300);
    expect(retryAfterOf(answered(503, { 'retry-after': '0' }))).toBe(1);
    expect(retryAfterOf(answered(503))).toBeUndefined();
    expect(isRateLimited(answered(429))).toBe(true);
    expect(isRateLimited(answered(503))).toBe(false);
  });
});
