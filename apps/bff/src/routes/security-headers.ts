/**
 * Headers for every page and asset the BFF serves to the browser.
 *
 * @see https://owasp.org/www-project-secure-headers/
 */

/**
 * Production CSP: the app's own scripts, styles, images and API calls, nothing else; no framing.
 * Development adds what Vite's HMR needs: its websocket on this same origin.
 */
export function contentSecurityPolicy(mode: 'development' | 'production', publicOrigin: string): string {
  const ws = publicOrigin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    mode === 'development' ? `connect-src 'self' ${ws}` : "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function pageSecurityHeaders(
  mode: 'development' | 'production',
  publicOrigin: string,
): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(mode, publicOrigin),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  };
}
