import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/** Port Vite listens on in development; only the BFF talks to it, the browser never does. */
const DEV_SERVER_PORT = 5173;

/**
 * Vite config of the SPA.
 *
 * Development: the browser only ever loads http://localhost:8000 (the BFF), which forwards every
 * non-`/auth`, non-`/api` GET and the HMR websocket upgrade to this server. So the HMR client must
 * connect back to the page's own origin, not to :5173. `server.ws` (Vite 8's home of the former
 * `server.hmr.host/port/clientPort/path/protocol`) is left without host, port and protocol on
 * purpose: Vite's client then builds the socket URL from `import.meta.url` of `/@vite/client`,
 * i.e. `ws(s)://<page host>:<page port>/?token=…` with the `vite-hmr` subprotocol, which follows
 * whatever `PORT` the BFF uses instead of hard-coding 8000.
 *
 * Production: `dist/index.html` plus hashed files in `dist/assets/`, no inline script or style,
 * so the BFF's CSP can stay `script-src 'self'; style-src 'self'`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact()],
  server: {
    // 127.0.0.1, not "localhost": Node may resolve localhost to ::1 first, and the BFF's proxy
    // must find Vite whichever address family it tries.
    host: '127.0.0.1',
    port: DEV_SERVER_PORT,
    strictPort: true,
    // Same path and origin as the page (see above); Vite checks the Host header (localhost is
    // allowed) and the per-server `token` query parameter, which the proxy must pass unchanged.
    ws: {},
  },
  // Pre-bundle what the app and the preset's dev helpers import, so the first page load does not
  // trigger a dependency re-optimisation and a full reload.
  optimizeDeps: { include: ['preact/hooks', 'preact/debug', 'preact/devtools'] },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Source maps would publish the source next to the app; keep production builds without them.
    sourcemap: false,
    // data: URIs would need `img-src data:` / `font-src data:` in the CSP; always emit files instead.
    assetsInlineLimit: 0,
    // Every browser that runs this ES2022 bundle supports modulepreload: skip the polyfill bytes.
    modulePreload: { polyfill: false },
    target: 'es2022',
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
});
