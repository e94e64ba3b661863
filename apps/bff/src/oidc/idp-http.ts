import http from 'node:http';
import https from 'node:https';

/** An IdP answer is read whole, up to this size: discovery, JWKS and token answers are a few KB. */
export const MAX_IDP_BODY_BYTES = 1024 * 1024;
/** Idle keep-alive connections to the IdP are closed after this long (undici's default too). */
const IDLE_SOCKET_MS = 4_000;
/** Statuses that carry no body (the Fetch standard's "null body status"). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
};

/** The IdP answered with more than {@link MAX_IDP_BODY_BYTES}: not an answer we read. */
export class IdpAnswerTooLargeError extends Error {
  override readonly name = 'IdpAnswerTooLargeError';
}

/**
 * `fetch` for the calls to the IdP (oauth4webapi's and jose's `customFetch`), on `node:http`.
 *
 * Node's built-in `fetch` (undici) parses HTTP with WebAssembly, and V8 compiles that parser
 * with its optimizing compiler on a worker thread soon after the first call: about half a
 * second of CPU at start-up and some 9 MB of memory that stays resident for the life of the
 * process (bench/FINDINGS.md §8). The IdP calls need little of `fetch`, and this is that part:
 *
 * - a string or `URL`, a method, `Headers`-like headers, and a string, `URLSearchParams` or
 *   bytes body;
 * - redirects are never followed (oauth4webapi and jose ask for `redirect: 'manual'`);
 * - the body is read whole before the promise settles, so the caller's `signal` (every call
 *   has one) bounds the whole exchange, body included;
 * - it fails as `fetch` does where callers tell failures apart: a `TypeError` when no whole
 *   answer arrives (refused, reset, DNS), the signal's reason when aborted or timed out.
 */
export function idpHttpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (typeof input !== 'string' && !(input instanceof URL)) {
    return Promise.reject(new TypeError('idpHttpFetch takes a URL, not a Request'));
  }
  const url = new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new TypeError(`idpHttpFetch: ${url.protocol} URLs are not fetched`));
  }
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);

  const headers: Record<string, string> = {};
  for (const [name, value] of new Headers(init.headers)) headers[name] = value;
  const body = requestBody(init.body, headers);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

  return new Promise<Response>((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: init.method ?? 'GET',
      headers,
      agent: agents[url.protocol as 'http:' | 'https:'],
    });
    const onAbort = () => {
      reject(signal?.reason);
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal?.removeEventListener('abort', onAbort);
    const noAnswer = (cause: unknown) => {
      settle();
      reject(new TypeError('fetch failed', { cause }));
    };
    req.once('error', noAnswer);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_IDP_BODY_BYTES) {
          settle();
          req.destroy();
          reject(
            new IdpAnswerTooLargeError(
              `the IdP's answer from ${url.origin} is over ${MAX_IDP_BODY_BYTES} bytes`,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      // The connection closed mid-answer (or was destroyed above): `fetch` fails the same way.
      res.once('error', noAnswer);
      res.once('end', () => {
        settle();
        try {
          resolve(toResponse(res, chunks));
        } catch (error) {
          // A status or header that fetch would not accept either: not an answer to act on.
          reject(new Error(`the IdP's answer from ${url.origin} is not valid HTTP`, { cause: error }));
        }
      });
    });
    req.end(body);
  });
}

function requestBody(
  body: RequestInit['body'],
  headers: Record<string, string>,
): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain;charset=UTF-8';
    return body;
  }
  if (body instanceof URLSearchParams) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    return body.toString();
  }
  if (body instanceof Uint8Array) return body;
  throw new TypeError('idpHttpFetch: the body is a string, URLSearchParams or bytes');
}

function toResponse(res: http.IncomingMessage, chunks: readonly Buffer[]): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return new Response(NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), {
    status,
    statusText: res.statusMessage ?? '',
    headers,
  });
}
