/**
 * The WebSocket API stand-in of the WebSocket scenario (`ws`, no compression, like the BFF's own
 * sockets): on any path, every message is sent back as it came (text as text, binary as binary).
 * On `/handshake` it first sends, as one JSON text message, the URL and request headers of the
 * handshake it received, so the benchmark can check what the BFF forwards (a bearer, no cookie).
 * `/healthz` over plain HTTP answers 200.
 *
 * Run as its own process: `node bench/dist/ws-upstream.js` with `PORT`.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((req, res) => {
  req.resume();
  if ((req.url ?? '/').startsWith('/healthz')) res.writeHead(200).end('ok');
  else res.writeHead(426, { upgrade: 'websocket' }).end();
});
const sockets = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
sockets.on('connection', (socket, req) => {
  const url = req.url ?? '/';
  if (url.split('?', 1)[0] === '/handshake') socket.send(JSON.stringify({ url, headers: req.headers }));
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => {
    // A client that went away: 'close' follows, nothing to do.
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
// Upgraded sockets are not the HTTP server's to close: exit at once, the clients see the close.
process.once('SIGTERM', () => process.exit(0));
