import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closedPort } from './testing/gateway.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

/** Runs the real entry point with `env` only (no .env file is read: STATIC_DIR etc. unset). */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, ['apps/bff/src/server.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('pnpm start with a bad configuration', () => {
  it('exits non-zero before listening and names every bad variable, one per line', async () => {
    const { code, stderr } = await runServer({
      OKTA_DOMAIN: 'http://evil.example',
      CLIENT_ID: 'x',
      OKTA_PROMPT: 'sometimes',
      SESSION_SECRET: 'short',
      PORT: '99999',
    });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toContain('configuration is not valid');
    for (const variable of ['OKTA_DOMAIN', 'CLIENT_SECRET', 'OKTA_PROMPT', 'SESSION_SECRET', 'PORT']) {
      expect(
        lines.filter((l) => l.trim().startsWith(`${variable}:`)),
        variable,
      ).toHaveLength(1);
    }
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  }, 30_000);
});

/** Starts an entry point with `env` only, waits for it to listen, and answers GET `path`. */
async function statusFrom(entry: string, env: Record<string, string>, path: string): Promise<number> {
  const port = await closedPort();
  const child = spawn(tsx, [entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        if (String(d).includes('BFF listening')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
    });
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } finally {
    child.kill('SIGKILL');
  }
}

describe('development features exist only under pnpm dev', () => {
  const env = {
    NODE_ENV: 'development',
    OKTA_ISSUER: 'http://127.0.0.1:9/oauth2/default',
    CLIENT_ID: 'c',
    CLIENT_SECRET: 's',
    SESSION_SECRET: 'x'.repeat(32),
    STATIC_DIR: '/nonexistent',
  };

  it('pnpm start (server.ts) with NODE_ENV=development: no diagnostics route (it would serve the raw access token)', async () => {
    expect(await statusFrom('apps/bff/src/server.ts', env, '/auth/diagnostics')).toBe(404);
  }, 30_000);

  it('pnpm dev (dev-server.ts) mounts it: 401 without a session (control)', async () => {
    expect(await statusFrom('apps/bff/src/dev-server.ts', env, '/auth/diagnostics')).toBe(401);
  }, 30_000);
});

describe('pnpm start against an IdP that contradicts the configuration', () => {
  /** A discovery document at `/oauth2/default/.well-known/openid-configuration` built by `metadata(issuer)`. */
  async function fakeIssuer(metadata: (issuer: string) => Record<string, unknown>) {
    const server = http.createServer((req, res) => {
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/default`;
      if (req.url === '/oauth2/default/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata(issuer)));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/default`, server };
  }
  const base = (issuer: string) => ({
    issuer,
    authorization_endpoint: `${issuer}/v1/authorize`,
    token_endpoint: `${issuer}/v1/token`,
    jwks_uri: `${issuer}/v1/keys`,
  });
  const env = async (issuer: string, extra: Record<string, string> = {}) => ({
    OKTA_ISSUER: issuer,
    CLIENT_ID: 'c',
    CLIENT_SECRET: 's',
    SESSION_SECRET: 'x'.repeat(32),
    PORT: String(await closedPort()),
    ...extra,
  });

  it.each<[string, (issuer: string) => Record<string, unknown>, Record<string, string>, RegExp]>([
    ['names another issuer', (issuer) => ({ ...base(issuer), issuer: `${issuer}/` }), {}, /another issuer/],
    [
      'has no PAR endpoint while OKTA_USE_PAR=true',
      base,
      { OKTA_USE_PAR: 'true' },
      /pushed_authorization_request_endpoint/,
    ],
  ])(
    'stops with exit code 1 when the IdP %s',
    async (_, metadata, extra, reason) => {
      const idp = await fakeIssuer(metadata);
      try {
        const { code, stderr } = await runServer(await env(idp.issuer, extra));
        expect(code).toBe(1);
        expect(stderr).toMatch(reason);
        expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
      } finally {
        idp.server.close();
      }
    },
    30_000,
  );
});
