import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
