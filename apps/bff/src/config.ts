import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BffConfig, loadBffConfig, type RunMode } from '@okta-bff/oidc';

const REPO_ROOT_ENV = fileURLToPath(new URL('../../../.env', import.meta.url));

/**
 * The only module that reads `process.env`. Loads `.env` from the repository root (or `ENV_FILE`)
 * when present (the real environment wins), then validates everything at once. `mode` comes from
 * the entry point (`server.ts` or `dev-server.ts`), never from the environment.
 *
 * @throws {import('@okta-bff/oidc').ConfigError} listing every bad variable.
 */
export function configFromEnvironment(
  mode: RunMode,
  envFile = process.env.ENV_FILE ?? REPO_ROOT_ENV,
): BffConfig {
  if (existsSync(envFile)) {
    // Node's loader never overrides variables that are already set.
    process.loadEnvFile(envFile);
  }
  return loadBffConfig(process.env, mode);
}
