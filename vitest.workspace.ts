import { defineConfig } from 'vitest/config';

/**
 * Every test in the repository, one vitest project per workspace package.
 * Run with `vitest run --config vitest.workspace.ts` (what `pnpm test` does).
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'oidc', root: 'packages/oidc', include: ['src/**/*.test.ts'] } },
      { test: { name: 'dev-idp', root: 'packages/dev-idp', include: ['src/**/*.test.ts'] } },
      { test: { name: 'api', root: 'apps/api', include: ['src/**/*.test.ts'] } },
      { test: { name: 'bff', root: 'apps/bff', include: ['src/**/*.test.ts'], testTimeout: 20_000 } },
      { test: { name: 'web', root: 'apps/web', include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] } },
      // The repository's own checks: self-contained, configuration documented (scripts/checks/).
      { test: { name: 'repo', root: '.', include: ['scripts/checks/**/*.test.ts'] } },
      {
        test: {
          name: 'e2e',
          root: 'e2e',
          include: ['**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
