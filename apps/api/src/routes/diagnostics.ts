/**
 * Test routes that let the BFF's proxy tests see what crossed the proxy: `/echo` describes the
 * request it received, `/bytes` streams a large download. Both require a valid token like any route.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import type { ApiEnv } from '../bearer-auth.ts';
import { ApiError } from '../errors.ts';

/** Largest `GET /bytes?n=` download: enough for streaming tests, bounded so it is not a free DoS amplifier. */
export const MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024;
const DOWNLOAD_CHUNK_BYTES = 64 * 1024;

/**
 * Headers whose values are credentials. `/echo` reports that they arrived but never their values:
 * the BFF forwards `/api/echo` to the browser, and reflecting the access token or the session
 * cookie would hand the SPA exactly what the BFF exists to keep from it.
 */
const REDACTED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
export const REDACTED = '[redacted]';

/** What `/echo` answers. */
export interface EchoBody {
  method: string;
  /** The path as received, still percent-encoded. */
  path: string;
  /** Query parameters, each with every value it was given. */
  query: Record<string, string[]>;
  /** The query string as received, without `?`. */
  rawQuery: string;
  /** Request headers (lower-case names); credential values replaced by `[redacted]`. */
  headers: Record<string, string>;
  /** Bytes of request body read (0 without a body). */
  bodyBytes: number;
  /** Hex SHA-256 of the body, so a test can check it arrived unaltered. */
  bodySha256: string;
  /** `sub` of the verified access token. */
  sub: string;
}

/** Reads a body chunk by chunk, keeping only its length and hash: a 1 GB upload costs no memory. */
async function measureBody(
  body: ReadableStream<Uint8Array> | null,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  if (body) {
    const reader = body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      bytes += chunk.value.byteLength;
      hash.update(chunk.value);
    }
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Parses `n` of `/bytes?n=`: a decimal integer from 0 to {@link MAX_DOWNLOAD_BYTES}. */
export function parseDownloadSize(n: string | undefined): number {
  const size = n !== undefined && /^\d{1,10}$/.test(n) ? Number(n) : Number.NaN;
  if (!(size >= 0 && size <= MAX_DOWNLOAD_BYTES)) {
    throw new ApiError('bad_request', 400, `n must be an integer from 0 to ${MAX_DOWNLOAD_BYTES}`);
  }
  return size;
}

/** A stream of `size` zero bytes, produced as the reader pulls, so it is never held in memory. */
function zeros(size: number): ReadableStream<Uint8Array> {
  let remaining = size;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (remaining === 0) {
        controller.close();
        return;
      }
      const chunk = Math.min(remaining, DOWNLOAD_CHUNK_BYTES);
      remaining -= chunk;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
}

/** `/echo` (any method) and `GET /bytes`; mount after {@link bearerAuth}. */
export function diagnosticRoutes(): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.all('/echo', async (c) => {
    const url = new URL(c.req.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of c.req.raw.headers) {
      headers[name] = REDACTED_HEADERS.has(name) ? REDACTED : value;
    }
    const { bytes, sha256 } = await measureBody(c.req.raw.body);
    const echo: EchoBody = {
      method: c.req.method,
      path: url.pathname,
      query: c.req.queries(),
      rawQuery: url.search.slice(1),
      headers,
      bodyBytes: bytes,
      bodySha256: sha256,
      sub: c.var.claims.sub,
    };
    return c.json(echo);
  });

  routes.get('/bytes', (c) => {
    const size = parseDownloadSize(c.req.query('n'));
    return c.body(zeros(size), 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    });
  });

  return routes;
}
