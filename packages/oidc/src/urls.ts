/**
 * URL rules shared by the config loader, the BFF and the sample API.
 */

/**
 * True for hosts that never leave this machine: `localhost` (and `*.localhost`), 127.0.0.0/8 and ::1.
 * Only these may be reached over plain `http:`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `https:` anywhere, `http:` only for loopback hosts. */
export function isAllowedIssuerUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * The issuer the tutorial's `.env` implies: `OKTA_ISSUER` when set, else Okta's default custom
 * authorization server on `OKTA_DOMAIN` (`https://OKTA_DOMAIN/oauth2/default`).
 * Returns `undefined` when neither is set; does not validate (see `loadBffConfig`).
 */
export function issuerFromEnv(env: { OKTA_ISSUER?: string; OKTA_DOMAIN?: string }): string | undefined {
  const issuer = env.OKTA_ISSUER?.trim();
  if (issuer) return issuer.replace(/\/+$/, '');
  const domain = env.OKTA_DOMAIN?.trim();
  if (!domain) return undefined;
  // Tutorial users sometimes paste the domain with its scheme; accept that, keep http only where it was given.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(domain) ? domain : `https://${domain}`;
  return `${withScheme.replace(/\/+$/, '')}/oauth2/default`;
}
