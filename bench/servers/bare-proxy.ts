/**
 * The cost floor of one extra hop: a `node:http` server piping every request into
 * `http.request` over a keep-alive agent, with no authentication and no header hygiene at all.
 * `/api/x` goes to `UPSTREAM_URL/x`, like the BFF.
 *
 * Run as its own process: `node bench/dist/bare-proxy.js` with `PORT` and `UPSTREAM_URL`.
 */
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8001');
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' });

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') return void res.writeHead(200).end('ok');
  const upstreamReq = http.request(
    {
      agent,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: url.startsWith('/api/') ? url.slice(4) : url,
      headers: req.headers,
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  upstreamReq.once('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstreamReq);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
