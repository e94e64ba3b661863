import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import type { Logger } from '../logger.ts';
import { pageSecurityHeaders } from './security-headers.ts';

/**
 * Development only: pages, modules and the HMR websocket come from Vite's dev server, so that the
 * browser uses the BFF's origin alone (cookies, CSP and `/api` behave as in production).
 */
export interface ViteDevProxy {
  forward(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createViteDevProxy(viteUrl: string, publicOrigin: string, logger: Logger): ViteDevProxy {
  const vite = new URL(viteUrl);
  const agent = new http.Agent({ keepAlive: true });
  const headers = pageSecurityHeaders('development', publicOrigin);

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = http.request(
      {
        agent,
        hostname: vite.hostname,
        port: vite.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: new URL(publicOrigin).host },
      },
      (viteRes) => {
        res.writeHead(viteRes.statusCode ?? 502, { ...viteRes.headers, ...headers });
        pipeline(viteRes, res, () => {
          // A reload mid-response closes the socket: nothing to report.
        });
      },
    );
    upstream.once('error', (error) => {
      logger.warn({ err: { message: error.message } }, 'Vite dev server not reachable');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`The Vite dev server at ${viteUrl} is not reachable. Is \`pnpm dev\` running?\n`);
      }
    });
    pipeline(req, upstream, () => {});
  }

  /** Relays a websocket upgrade (Vite's HMR channel) byte for byte. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const upstream = net.connect(Number(vite.port), vite.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.once('error', close);
    socket.once('error', close);
    socket.once('close', close);
    upstream.once('close', close);
  }

  return { forward, upgrade };
}
