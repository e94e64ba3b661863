/**
 * A plain `node:http` upstream for the `/api` proxy's tests: it records every request it receives
 * (method, target, headers, body length), counting body bytes as they stream so a large upload
 * costs it no memory. Test-only; never imported by the product.
 *
 * What it answers, by the last path segment:
 * - `hang`: accepts the request and never answers (until {@link RecordingUpstream.close}).
 * - `bytes?n=<count>`: streams `count` zero bytes, chunk by chunk.
 * - `cache?cc=<value>`: 200 JSON with `Cache-Control: <value>`.
 * - `stream?ms=<t>&chunks=<n>`: 200, `n` chunks of 1 KiB spread evenly over `t` ms.
 * - anything else: 200 JSON `{"ok":true}` once the body is read, with a `Set-Cookie`, CORS and
 *   hop-by-hop headers that the proxy must not pass on.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export interface RecordedRequest {
  readonly method: string;
  /** The request target as received: path and query, still percent-encoded. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes received so far; final once `bodyDone` is true. */
  bodyBytes: number;
  bodyDone: boolean;
}

export interface RecordingUpstream {
  /** E.g. `http://127.0.0.1:40123`. */
  readonly origin: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Resolves once `count` requests have arrived (their bodies may still be streaming). */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024);

/** A stream of `size` zero bytes that reuses one chunk, so producing it allocates nothing. */
export function zeroStream(size: number): Readable {
  let remaining = size;
  return new Readable({
    read() {
      if (remaining === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(remaining, CHUNK.length);
      remaining -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = http.createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
      bodyDone: false,
    };
    requests.push(record);
    for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const url = new URL(req.url ?? '/', 'http://upstream');
    const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    req.on('end', () => {
      record.bodyDone = true;
      if (last === 'hang') return;
      if (last === 'stall') {
        // The status line and a first chunk, then silence: the body never ends.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 2048 });
        res.write(CHUNK.subarray(0, 1024));
        return;
      }
      if (last === 'stream') {
        const chunks = Number(url.searchParams.get('chunks') ?? '10');
        const every = Number(url.searchParams.get('ms') ?? '1000') / chunks;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': chunks * 1024 });
        let sent = 0;
        const tick = setInterval(() => {
          res.write(CHUNK.subarray(0, 1024));
          if (++sent === chunks) {
            clearInterval(tick);
            res.end();
          }
        }, every);
        res.once('close', () => clearInterval(tick));
        return;
      }
      if (last === 'step-up-recent') {
        // RFC 9470 §3: this action needs a sign-in within the last 30 seconds, of any strength.
        res.writeHead(401, {
          'www-authenticate': 'Bearer error="insufficient_user_authentication", max_age="30"',
        });
        res.end();
        return;
      }
      if (last === 'step-up') {
        // RFC 9470 §3: this action needs a second factor within the last 5 minutes.
        res.writeHead(401, {
          'www-authenticate':
            'Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="urn:okta:loa:2fa:any", max_age=300',
          'content-type': 'application/json',
        });
        res.end('{"error":"insufficient_user_authentication"}');
        return;
      }
      if (last === 'cache') {
        res.writeHead(200, {
          'content-type': 'application/json',
          'cache-control': url.searchParams.get('cc') ?? '',
        });
        res.end('{}');
        return;
      }
      if (last === 'bytes') {
        const size = Number(url.searchParams.get('n') ?? '0');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        zeroStream(size).pipe(res);
        return;
      }
      const body = JSON.stringify({ ok: true, bodyBytes: record.bodyBytes });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'set-cookie': ['upstream_session=planted; Path=/', 'other=1; Path=/; HttpOnly'],
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-upstream',
        connection: 'keep-alive, x-upstream-hop',
        'x-upstream-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'x-upstream': 'kept',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
