/**
 * `pnpm dev`: everything for local work in one command, stopped together on Ctrl-C.
 *
 * - the embedded Okta-like IdP on :9000, unless `.env` or the environment names an Okta org
 *   (`OKTA_DOMAIN` or `OKTA_ISSUER`);
 * - the sample resource API on :8001;
 * - the BFF on :8000 (the only origin the browser uses), restarted on change;
 * - Vite on 127.0.0.1:5173, reached only through the BFF (pages, modules, HMR websocket).
 *
 * Each process's output is prefixed with its name; the BFF's JSON log lines are shown compactly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseClientPrivateKey } from '../packages/oidc/src/config.ts';
import { DEV_IDP } from '../packages/oidc/src/dev-defaults.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const envFile = `${root}.env`;
if (existsSync(envFile)) process.loadEnvFile(envFile); // never overrides variables already set

const useDevIdp = !process.env.OKTA_DOMAIN?.trim() && !process.env.OKTA_ISSUER?.trim();
// One secret per `pnpm dev` run, shared by BFF restarts so a code change does not sign you out.
const env = {
  ...process.env,
  ...secureClientRegistration(),
  NODE_ENV: 'development',
  SESSION_SECRET: process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
  FORCE_COLOR: process.env.FORCE_COLOR ?? '1',
};

/**
 * With the embedded IdP and `CLIENT_AUTH_METHOD=private_key_jwt` in `.env`, registers the public
 * half of `CLIENT_PRIVATE_KEY` for the dev IdP's second client (`DEV_IDP_SECURE_CLIENT_JWKS`), so
 * a few variables are all it takes to try private_key_jwt, PAR and DPoP locally.
 */
function secureClientRegistration(): Record<string, string> {
  const key = process.env.CLIENT_PRIVATE_KEY?.trim();
  if (
    !useDevIdp ||
    process.env.CLIENT_AUTH_METHOD !== 'private_key_jwt' ||
    !key ||
    process.env.DEV_IDP_SECURE_CLIENT_JWKS
  ) {
    return {};
  }
  const parsed = parseClientPrivateKey(key, process.env.CLIENT_PRIVATE_KEY_ID?.trim() || undefined);
  if (typeof parsed === 'string') return {}; // the BFF reports the problem with the variable's name
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = parsed.jwk;
  return { DEV_IDP_SECURE_CLIENT_JWKS: JSON.stringify({ keys: [publicJwk] }) };
}

interface Task {
  readonly name: string;
  readonly color: number;
  readonly command: string;
  readonly args: string[];
  readonly cwd: string;
}

const bin = (dir: string, name: string) => `${root}${dir}node_modules/.bin/${name}`;
const tsx = (name: string, color: number, entry: string, watch: boolean): Task => ({
  name,
  color,
  command: bin('', 'tsx'),
  args: [...(watch ? ['watch', '--clear-screen=false'] : []), entry],
  cwd: root,
});
const tasks: Task[] = [
  ...(useDevIdp ? [tsx('idp', 35, 'packages/dev-idp/src/main.ts', false)] : []),
  tsx('api', 36, 'apps/api/src/server.ts', true),
  tsx('bff', 32, 'apps/bff/src/dev-server.ts', true),
  {
    name: 'web',
    color: 33,
    command: bin('apps/web/', 'vite'),
    args: ['--clearScreen', 'false'],
    cwd: `${root}apps/web`,
  },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

/** Pino JSON lines as `level msg key=value …`; anything else unchanged. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { level, msg, time: _t, pid: _p, hostname: _h, service: _s, reqId: _r, ...rest } = JSON.parse(line);
    const names: Record<number, string> = { 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
    const fields = Object.entries(rest).map(
      ([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`,
    );
    return [names[level] ?? level, msg, ...fields].join(' ');
  } catch {
    return line;
  }
}

function start({ name, color, command, args, cwd }: Task) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.set(name, child);
  const prefix = `\x1b[${color}m${name.padEnd(3)} |\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) =>
      process.stdout.write(`${prefix}${readable(line)}\n`),
    );
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    process.stdout.write(`${prefix}exited (${signal ?? code}); stopping everything\n`);
    stop(typeof code === 'number' && code !== 0 ? code : 1);
  });
}

function stop(exitCode: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) {
    // Each task runs in its own process group: signal the whole group (tsx watch → node).
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone: nothing to stop.
      }
    }
  }
  const deadline = setTimeout(() => process.exit(exitCode), 5_000);
  const poll = setInterval(() => {
    if (children.size === 0) {
      clearInterval(poll);
      clearTimeout(deadline);
      process.exit(exitCode);
    }
  }, 100);
}

process.once('SIGINT', () => stop(0));
process.once('SIGTERM', () => stop(0));

console.log(
  useDevIdp
    ? 'pnpm dev: embedded IdP (test users alice@example.com / alice-dev-password, bob@example.com / bob-dev-password)'
    : `pnpm dev: using your Okta org (${process.env.OKTA_ISSUER ?? process.env.OKTA_DOMAIN})`,
);
console.log('Open http://localhost:8000 (Ctrl-C stops everything)\n');
/**
 * The BFF discovers the IdP as it starts, so the embedded IdP goes first and the rest follow
 * once its discovery document answers (a second or two), instead of the BFF's first attempt
 * losing the race and logging a failure at every start.
 */
async function idpAnswers(timeoutMs: number): Promise<void> {
  const url = `${DEV_IDP.issuer}/.well-known/openid-configuration`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Not up in time: start the rest anyway; the BFF keeps retrying discovery and says so.
}

const idp = tasks.find((task) => task.name === 'idp');
if (idp) {
  start(idp);
  await idpAnswers(15_000);
}
for (const task of tasks) if (task !== idp && !stopping) start(task);
