import type { IdpLoader } from '../oidc/idp.ts';

/** An IdP whose discovery never succeeds: the BFF stays "not ready". Test-only. */
export const NOT_READY_IDP: IdpLoader = {
  current: () => undefined,
  require: () => {
    throw new Error('the test IdP is never ready');
  },
  ready: new Promise(() => {}),
  stop: () => {},
};
