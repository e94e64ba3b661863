/**
 * Maps the client's `/api/<path>` onto the configured upstream base, refusing anything that could
 * climb out of it once some server along the way decodes or normalizes the path.
 */

/** Decoding rounds to look through: catches `%2e`, `%252e` and `%25252e`. */
const DECODE_ROUNDS = 3;

export type UpstreamPath = { ok: true; path: string } | { ok: false; reason: string };

/**
 * `rawPath` is the part after `/api` exactly as the client sent it (still percent-encoded, no
 * query). Every segment is checked through several rounds of decoding: no `.`/`..`, no encoded
 * `/`, no `\` and no NUL in any of them. The result is the base path joined with the
 * segments as sent (their encoding kept), so the upstream sees what the client meant.
 */
export function resolveUpstreamPath(basePath: string, rawPath: string): UpstreamPath {
  const base = basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
  // The route's own path (`/api/items` → `/items`) is the base exactly; only `/api/items/` adds the slash.
  if (rawPath === '') return { ok: true, path: base === '' ? '/' : base };
  if (rawPath === '/') return { ok: true, path: `${base}/` };
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the path must start with /' };
  const segments = rawPath.slice(1).split('/');
  for (const segment of segments) {
    let current = segment;
    for (let round = 0; round <= DECODE_ROUNDS; round++) {
      if (current === '.' || current === '..') return { ok: false, reason: 'dot segments are not allowed' };
      if (current.includes('\\') || current.includes('\0'))
        return { ok: false, reason: 'backslashes and NUL are not allowed' };
      if (round > 0 && current.includes('/')) return { ok: false, reason: 'encoded slashes are not allowed' };
      if (!current.includes('%')) break;
      let decoded: string;
      try {
        decoded = decodeURIComponent(current);
      } catch {
        return { ok: false, reason: 'the path is not valid percent-encoding' };
      }
      if (decoded === current) break;
      current = decoded;
    }
  }
  return { ok: true, path: `${base}/${segments.join('/')}` };
}
