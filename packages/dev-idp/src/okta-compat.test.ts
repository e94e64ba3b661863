import { describe, expect, it } from 'vitest';
import { promptKeepingOfflineAccess } from './okta-compat.ts';

describe('promptKeepingOfflineAccess', () => {
  it.each([
    ['openid offline_access', undefined, 'consent'],
    ['openid offline_access', '', 'consent'],
    ['openid offline_access', 'login', 'login consent'],
    ['openid offline_access', 'login consent', undefined],
    ['openid offline_access', 'none', undefined],
    ['openid profile', undefined, undefined],
    [undefined, undefined, undefined],
    ['openid offline_access', ['login', 'none'], undefined],
  ])('scope %j, prompt %j → %j', (scope, prompt, expected) => {
    expect(promptKeepingOfflineAccess(scope, prompt)).toBe(expected);
  });
});
