/**
 * Builds and starts everything a run needs on loopback: the embedded IdP (in this process,
 * with one client for the BFF and one for the express alternative), the upstream, the bare
 * proxy, the BFF's production build and the express alternative, each in its own process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDevClient, createDevClientFor, type DevIdp, startDevIdp } from '@okta-bff/dev-idp';
import { DEV_IDP } from '@okta-bff/oidc';
import { build } from 'esbuild';
import { type Child, freePort, startChild } from './processes.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const BFF_ENTRY = fileURLToPath(new URL('../apps/bff/dist/server.js', import.meta.url));
/** Node flags of `pnpm start` (apps/bff/package.json), so the bench runs the BFF as production does. */
const BFF_START_FLAGS: string[] = (
  JSON.parse(readFileSync(new URL('../apps/bff/package.json', import.meta.url), 'utf8')).scripts
    .start as string
)
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

/** Random per run: sessions are sealed with it, and nothing outlives the run. */
const SESSION_SECRET = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const EXPRESS_CLIENT = { clientId: '0oabenchexpress0000', clientSecret: 'bench-only-express-client-secret' };

/** The SPA and the BFF as `pnpm build` makes them, and the bench's own servers bundled the same way. */
export async function buildAll(): Promise<void> {
  for (const app of ['@okta-bff/bff', '@okta-bff/web']) {
    execFileSync('pnpm', ['--filter', app, 'build'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  // Bundled like the BFF (dependencies left external), so no process pays for tsx's loader.
  await build({
    entryPoints: ['upstream', 'bare-proxy', 'express-alt'].map((name) =>
      fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url)),
    ),
    outdir: BENCH_DIST,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}

export interface BffOptions {
  readonly logLevel: string;
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** Another build of the BFF to run instead of `apps/bff/dist/server.js`, for what-if experiments. */
  readonly entry?: string;
}

export interface Stack {
  readonly idp: DevIdp;
  readonly upstream: Child;
  readonly upstreamUrl: string;
  readonly bare: Child;
  readonly bareUrl: string;
  readonly bff: Child;
  /** `http://localhost:<port>`, the BFF's public origin. */
  readonly bffOrigin: string;
  readonly express: Child;
  readonly expressOrigin: string;
  /**
   * Another BFF process sharing the session secret (so the same cookie works), e.g. with
   * `LOG_LEVEL=info` or `--cpu-prof`. The caller stops it.
   */
  startExtraBff(options: BffOptions): Promise<{ child: Child; url: string }>;
  /** Another bare proxy process, e.g. with `--cpu-prof`. The caller stops it. */
  startExtraBare(nodeFlags: readonly string[]): Promise<{ child: Child; url: string }>;
  /**
   * Replaces the BFF (or the express alternative) by a new process on the same port, so that
   * sign-ins, whose redirect URI names that port, reach it; `bff` / `express` then point to it.
   */
  restartBff(options: BffOptions): Promise<Child>;
  restartExpress(nodeFlags: readonly string[]): Promise<Child>;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const [upstreamPort, barePort, bffPort, expressPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const bffOrigin = `http://localhost:${bffPort}`;
  const expressOrigin = `http://localhost:${expressPort}`;
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

  const idp = await startDevIdp({
    port: 0,
    clients: [
      createDevClientFor(bffOrigin),
      {
        ...createDevClient({
          redirectUris: [`${expressOrigin}/callback`],
          postLogoutRedirectUris: [`${expressOrigin}/`],
        }),
        client_id: EXPRESS_CLIENT.clientId,
        client_secret: EXPRESS_CLIENT.clientSecret,
        client_name: 'bench express alternative',
      },
    ],
  });
  const children: Child[] = [];
  const track = (child: Child) => {
    children.push(child);
    return child;
  };

  const bffEnv = (port: number, logLevel: string) => ({
    OKTA_ISSUER: idp.issuer,
    CLIENT_ID: DEV_IDP.clientId,
    CLIENT_SECRET: DEV_IDP.clientSecret,
    // Every BFF process uses the registered redirect URI; only the first one ever signs in.
    REDIRECT_URL: `${bffOrigin}/authorization-code/callback`,
    SESSION_SECRET,
    API_UPSTREAM_URL: upstreamUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
  });
  const startBff = (port: number, { logLevel, nodeFlags = BFF_START_FLAGS, entry = BFF_ENTRY }: BffOptions) =>
    startChild({
      name: `bff (LOG_LEVEL=${logLevel})`,
      args: [...nodeFlags, entry],
      env: bffEnv(port, logLevel),
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      cwd: REPO_ROOT,
    });
  const expressEnv = (port: number) => ({
    PORT: String(port),
    ISSUER: idp.issuer,
    CLIENT_ID: EXPRESS_CLIENT.clientId,
    CLIENT_SECRET: EXPRESS_CLIENT.clientSecret,
    SESSION_SECRET,
    UPSTREAM_URL: upstreamUrl,
    NODE_ENV: 'production',
  });
  const startExpress = (port: number, nodeFlags: readonly string[] = []) =>
    startChild({
      name: 'express alternative',
      args: [...nodeFlags, `${BENCH_DIST}express-alt.js`],
      env: expressEnv(port),
      readyUrl: `http://127.0.0.1:${port}/healthz`,
      cwd: REPO_ROOT,
    });

  const startBare = (port: number, nodeFlags: readonly string[] = []) =>
    startChild({
      name: 'bare proxy',
      args: [...nodeFlags, `${BENCH_DIST}bare-proxy.js`],
      env: { PORT: String(port), UPSTREAM_URL: upstreamUrl },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
    });

  try {
    const upstream = track(
      await startChild({
        name: 'upstream',
        args: [`${BENCH_DIST}upstream.js`],
        env: { PORT: String(upstreamPort) },
        readyUrl: `${upstreamUrl}/healthz`,
      }),
    );
    const [bare, bff, express] = await Promise.all([
      startBare(barePort).then(track),
      startBff(bffPort, { logLevel: 'warn' }).then(track),
      startExpress(expressPort).then(track),
    ]);
    let currentBff = bff;
    let currentExpress = express;
    return {
      idp,
      upstream,
      upstreamUrl,
      bare,
      bareUrl: `http://127.0.0.1:${barePort}`,
      get bff() {
        return currentBff;
      },
      bffOrigin,
      get express() {
        return currentExpress;
      },
      expressOrigin,
      async restartBff(options) {
        await currentBff.stop();
        currentBff = track(await startBff(bffPort, options));
        return currentBff;
      },
      async restartExpress(nodeFlags) {
        await currentExpress.stop();
        currentExpress = track(await startExpress(expressPort, nodeFlags));
        return currentExpress;
      },
      async startExtraBff(options) {
        const port = await freePort();
        return { child: await startBff(port, options), url: `http://127.0.0.1:${port}` };
      },
      async startExtraBare(nodeFlags) {
        const port = await freePort();
        return { child: await startBare(port, nodeFlags), url: `http://127.0.0.1:${port}` };
      },
      async stop() {
        await Promise.all(children.map((child) => child.stop()));
        await idp.close();
      },
    };
  } catch (error) {
    await Promise.all(children.map((child) => child.stop()));
    await idp.close();
    throw error;
  }
}
