/**
 * The resource API stand-in every scenario talks to: a small JSON answer at once, or after
 * 5 ms (like a real API's database round trip) under `/slow/`. `/echo` answers with the request
 * headers it received, so the benchmark can check what each proxy really forwards.
 *
 * Run as its own process: `node bench/dist/upstream.js` with `PORT`.
 */
import { createServer } from 'node:http';

const SLOW_PREFIX = '/slow/';
const SLOW_DELAY_MS = 5;
const BODY = JSON.stringify({
  items: [
    { id: 1, name: 'Read the tutorial', done: true },
    { id: 2, name: 'Sign in with Okta', done: true },
    { id: 3, name: 'Call the API through the BFF', done: false },
  ],
});
const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': Buffer.byteLength(BODY),
  'cache-control': 'no-store',
};

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  const url = req.url ?? '/';
  if (url.startsWith('/healthz')) {
    res.writeHead(200).end('ok');
  } else if (url.startsWith('/echo')) {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ url, headers: req.headers }));
  } else if (url.startsWith(SLOW_PREFIX)) {
    setTimeout(() => res.writeHead(200, HEADERS).end(BODY), SLOW_DELAY_MS);
  } else {
    res.writeHead(200, HEADERS).end(BODY);
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
